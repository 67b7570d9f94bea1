/**
 * The engine starts the plugin as its child, in a process group of the plugin's own, and stops it at the end of
 * an operation. When the engine itself dies (SIGKILL, OOM, a crashed CI runner) nobody stops the plugin: its
 * gRPC server keeps the event loop alive, and it ran on for minutes, holding SSH master connections and mounts.
 *
 * The engine is the plugin's parent (bin/pulumi-resource-netboot execs node), so its death shows as a new
 * parent pid (init or a subreaper adopts the orphan). stdin is no signal: the engine gives plugins /dev/null.
 * A poll of `process.ppid` (a live getppid(2) call in Node) costs nothing and needs no engine cooperation.
 */
export function watchParent(onGone: () => void, everyMs = 1000): () => void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      onGone();
    }
  }, everyMs);
  timer.unref(); // the watch alone never keeps the process alive
  return () => clearInterval(timer);
}
