/**
 * Names that reach a daemon's command line: the systemd unit netboot reloads and the signal it sends through
 * a pid file. Both end up in an argv (`systemctl reload-or-restart UNIT`, `kill -s SIG PID`), so they are
 * checked against what those programs take, not merely for characters that break a file. Signal names are the
 * schema's SignalName enum (checked with model/enums.ts `oneOf`); unit names are open, so their rule is here.
 */
import { Issues } from "./errors";

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
