/**
 * What the example adds to its Debian image (OsImage `files`): a unit that reports the node's state on the
 * serial console once systemd has finished booting. The lab waits for that line (docs/lab.md): `state=` is
 * `systemctl is-system-running` (anything but `running` fails the node, with its failed units), `host=` and
 * `ip=` must be the node's.
 */
export const UP_MARKER = "STATELESS-DEBIAN-UP";
/** A file only the volume holds for the hybrid group (it is below a hybrid path, left out of the RAM tarball). */
export const LAB_FILE = "/usr/share/netboot-lab/hello.txt";
export const LAB_FILE_CONTENT = "hello from the GlusterFS volume of the stateless-debian example";

export const REPORT_SCRIPT = `#!/bin/sh
# Reports the node's state on the console once systemd has finished booting (the netboot lab waits for it).
# Every command here runs from /usr: in hybrid mode /usr is on GlusterFS, so each one is loaded by mmap through FUSE.
state=$(systemctl is-system-running --wait 2>/dev/null)
failed=$(systemctl list-units --state=failed --plain --no-legend 2>/dev/null | awk '{ print $1 }' | paste -sd, -)
ip=$(ip -4 -o addr show scope global | awk '{ split($4, a, "/"); print a[1]; exit }')
usrfs=$(awk '$2 == "/usr" { t = $3 } END { print t }' /proc/mounts)
mem=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
pkgs=$(dpkg-query -W -f='\${Package}\\n' | wc -l)
# /dev/console is opened for each line: a getty starting on the serial port hangs up the descriptors opened before it
echo "LAB-FILE (/usr on \${usrfs:-the root}): $(cat ${LAB_FILE} 2>&1)" > /dev/console
echo "${UP_MARKER} host=$(hostname) ip=$ip state=$state failed=\${failed:-none} memAvailableKb=$mem packages=$pkgs usr=\${usrfs:-root}" > /dev/console
`;

export const REPORT_UNIT = `[Unit]
Description=netboot lab: report the node's state on the serial console

[Service]
# simple, not oneshot: the boot is finished only once every start job is done, which this one waits for
Type=simple
ExecStart=/usr/local/sbin/netboot-lab-report
StandardOutput=journal

[Install]
WantedBy=multi-user.target
`;
