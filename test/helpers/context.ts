/**
 * A provider context for unit tests (the matchbox fixture test's fake store): every host is a transport the
 * test gives (MemoryTransport, with its failure modes), keyed by the host's key (`local:/srv`, `local:/` for
 * this machine, `ssh:root@h:22`); a host the test did not give fails loudly instead of touching this machine.
 * Tools that need real programs (planning and building an initramfs, packing an image, mounting) fail unless
 * the test gives a fake: the integration tests prove the real ones.
 */
import { ProviderContext, Tools } from "../../provider/context";
import { hostKey } from "../../provider/model/host";
import { Host } from "../../provider/schema-types";
import { Transport } from "../../provider/transport";

export interface TestContext {
  ctx: ProviderContext;
  /** every progress message, as `urn: message` */
  progress: string[];
}

export function testContext(opts: { transports?: Record<string, Transport>; tools?: Partial<Tools> } = {}): TestContext {
  const transports = opts.transports ?? {};
  const progress: string[] = [];
  const missing = (name: string) => () => {
    throw new Error(`testContext: this test gave no fake for tools.${name}`);
  };
  const tools: Tools = {
    planInitramfs: missing("planInitramfs"),
    planImage: missing("planImage"),
    buildInitrd: missing("buildInitrd"),
    buildImage: missing("buildImage"),
    treeDigest: missing("treeDigest"),
    withNetworkFs: missing("withNetworkFs"),
    osImage: { build: missing("osImage.build"), observe: missing("osImage.observe"), missingTools: missing("osImage.missingTools"), machineMirror: missing("osImage.machineMirror"), sourceContent: missing("osImage.sourceContent") },
    ...opts.tools,
  };
  const ctx = new ProviderContext({
    openTransport: (h: Host) => {
      const t = transports[hostKey(h)];
      if (!t) throw new Error(`testContext: no transport for host ${hostKey(h)} (given: ${Object.keys(transports).join(", ") || "none"})`);
      return t;
    },
    progress: { report: (urn, message) => progress.push(`${urn ?? ""}: ${message}`) },
    traceFile: undefined,
    tools,
  });
  return { ctx, progress };
}
