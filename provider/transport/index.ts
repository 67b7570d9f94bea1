/** The transports (local folder, this machine, SSH, memory) and their interface. Nothing here knows a resource. */
export type { ExecResult, FileStat, Transport } from "./transport";
export { TransportError } from "./transport";
export { LocalTransport } from "./local";
export { MemoryTransport } from "./memory";
export { SshTransport } from "./ssh";
