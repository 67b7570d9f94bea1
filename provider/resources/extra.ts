import { ResourceHandler } from "./handler";
/** Custom resources added by later work (kept separate so registry.ts stays a plain table). */
export const extraCustomResources: Record<string, ResourceHandler> = {};
