/**
 * Names that reach a daemon's command line: the systemd unit netboot reloads and the signal it sends through
 * a pid file. Both end up in an argv (`systemctl reload-or-restart UNIT`, `kill -s SIG PID`), so they are
 * checked against what those programs take, not merely for characters that break a file.
 */
import { Issues } from "./errors";

/**
 * Signals a daemon's pid file may be sent (names as `kill -s` takes them, without SIG). A closed set: the
 * schema branch generates it as an enum; until then this list is the one place it is written.
 */
export const SIGNALS = ["HUP", "USR1", "USR2", "TERM", "INT", "QUIT", "WINCH"] as const;
export type SignalName = (typeof SIGNALS)[number];

/**
 * systemd's unit name rule (systemd.unit(5): ASCII letters, digits, `:-_.\@`, at most 255 characters), and not
 * starting with `-`, which systemctl would read as an option.
 */
const UNIT_NAME = /^[A-Za-z0-9:_.\\@][A-Za-z0-9:_.\\@-]{0,254}$/;

export function checkUnitName(issues: Issues, field: string, value: unknown): boolean {
  if (typeof value !== "string" || !UNIT_NAME.test(value)) {
    issues.add(field, value, "must be a systemd unit name (letters, digits and `:-_.\\@`, at most 255 characters, not starting with `-`), e.g. dnsmasq or dnsmasq@pxe.service");
    return false;
  }
  return true;
}

export function checkSignalName(issues: Issues, field: string, value: unknown): boolean {
  if (typeof value !== "string" || !(SIGNALS as readonly string[]).includes(value)) {
    issues.add(field, value, `must be one of ${SIGNALS.join(", ")} (a signal name without SIG)`);
    return false;
  }
  return true;
}
