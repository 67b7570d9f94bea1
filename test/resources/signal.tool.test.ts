/**
 * The pid-file signal (lifecycle.ts maybeSignal) on this machine as the host, with real processes: a pid file
 * replaced by a symlink is not followed (it could name any process for netboot to signal as root), a plain pid
 * file is signalled. The processes are `sleep`s this test starts (SIGHUP ends them), so a failure here never
 * signals anything but them.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { maybeSignal } from "../../provider/resources/lifecycle";
import { LocalTransport } from "../../provider/transport";

const started: ChildProcess[] = [];
afterAll(() => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

function sleeper(): ChildProcess {
  const c = spawn("sleep", ["60"], { stdio: "ignore" });
  started.push(c);
  return c;
}
const ended = (c: ChildProcess) => new Promise<string | null>((r) => (c.exitCode !== null || c.signalCode !== null ? r(c.signalCode) : c.once("exit", (_code, sig) => r(sig))));

test("a pid file replaced by a symlink names no process; a plain one is signalled", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netboot-signal-"));
  const t = new LocalTransport(); // this machine: no root, so only what is asked is confined
  const change = { written: ["/x"], changed: [], removed: [] };

  const victim = sleeper();
  fs.writeFileSync(path.join(dir, "elsewhere.pid"), `${victim.pid}\n`);
  fs.symlinkSync(path.join(dir, "elsewhere.pid"), path.join(dir, "dnsmasq.pid"));
  const r = await maybeSignal(t, { pidFile: path.join(dir, "dnsmasq.pid"), on: "change" }, change, false);
  expect(r.done).toBe("not running");
  await new Promise((res) => setTimeout(res, 200));
  expect([victim.exitCode, victim.signalCode]).toEqual([null, null]);

  // a symlinked folder above the pid file is the admin's layout (/var/run -> /run) and is followed
  const daemon = sleeper();
  fs.mkdirSync(path.join(dir, "real-run"));
  fs.symlinkSync(path.join(dir, "real-run"), path.join(dir, "run"));
  fs.writeFileSync(path.join(dir, "real-run", "dnsmasq.pid"), `${daemon.pid}\n`);
  const ok = await maybeSignal(t, { pidFile: path.join(dir, "run", "dnsmasq.pid"), on: "change" }, change, false);
  expect(ok.done).toBe(`sent SIGHUP to ${daemon.pid}`);
  expect(await ended(daemon)).toBe("SIGHUP");
  fs.rmSync(dir, { recursive: true, force: true });
});
