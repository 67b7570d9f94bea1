import { ProviderContext } from "../context";
import { ResourceHandler } from "./handler";
/** Custom resources added by later work (kept separate so registry.ts stays a plain table). */
export function extraCustomResources(_ctx: ProviderContext): Record<string, ResourceHandler> {
  return {};
}
