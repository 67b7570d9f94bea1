/**
 * The initramfs `/init` (busybox ash) and its udhcpc script. Pure: config in, script text out.
 *
 * Boot steps, each announced on the console as `netboot: <step>`; any failure prints one
 * `netboot: FAILED: <what>` line and then opens a rescue shell or reboots (`onFailure`):
 *   1. mount proc, sys, devtmpfs, /run, /tmp (glusterfs writes its volfile parse file in /tmp)
 *   2. insmod the modules in dependency order (computed at build time from modules.dep)
 *   3. find the boot NIC from `BOOTIF=01-aa-bb-..` (iPXE's `${mac:hexhyp}`), or the first NIC; DHCP with udhcpc
 *   4. mount the transport: glusterfs (FUSE client from the baked volfile), nfs, or nothing (http)
 *   5. unpack the OS image into a tmpfs at /newroot (tarball from the network FS, or streamed with wget)
 *   6. hybrid: bind the listed paths from the image tree on the network FS over /newroot
 *   7. the node's overlay (`netboot.overlay=URL netboot.overlay.sha256=HEX`, from its iPXE script): fetched,
 *      checked against the hash, unpacked over /newroot (owners and modes kept), then deleted from /run
 *   8. hand off: switch_root to the image's /sbin/init, or kexec its own kernel
 * Kernel command line overrides: `netboot.image=` (http: the image URL; glusterfs/nfs: the tarball's name in
 * imagePath, default image.tar.gz), `netboot.root=` (hybrid: the tree's folder name in imagePath, default root),
 * `netboot.debug` (trace), `netboot.rootsize=`.
 */
import type { BootMode, Handoff, ImageTransport, OnFailure } from "../schema-enums";
import { FetchPlan, isEmptySpread, ReadSpread } from "../model/readSpread";
import { shq } from "../util/shell";
import { RenderedFile } from "./types";

export interface InitConfig {
  name: string;
  transport: ImageTransport;
  mode: BootMode;
  hybridPaths: string[];
  handoff: Handoff;
  onFailure: OnFailure;
  /** modules to insmod, in order, as paths inside the initramfs */
  modules: string[];
  /** glusterfs: where the client volfile is inside the initramfs */
  volfile?: string;
  /** glusterfs: the sets whose reads each node spreads (model/readSpread.ts); none: glusterd's policies */
  readSpread?: ReadSpread;
  /** glusterfs on a sharded volume: the image is read in pieces, several at once (model/readSpread.ts) */
  fetch?: FetchPlan;
  /** nfs: `IP:/export` */
  nfsExport?: string;
  /** glusterfs/nfs: folder on the network FS holding image.tar.gz (and root/ in hybrid mode) */
  imagePath?: string;
  /** http: default image URL (the kernel command line's netboot.image= wins) */
  imageUrl?: string;
  /** tar flag for the image's compression: z (gzip) or J (xz) */
  imageCompression: "z" | "J";
}

export const INIT_PATH = "/init";
export const UDHCPC_SCRIPT = "/etc/netboot/udhcpc.script";
/**
 * Options udhcpc asks for beyond its defaults (subnet, router, dns, hostname, domain, broadcast): dnsmasq sends
 * only what a client asks for, so a PxeServer's or group's MTU, NTP servers and search domains need these.
 */
export const UDHCPC_OPTS = "-O mtu -O ntpsrv -O search";
const NET = "/run/netboot/net";

/**
 * The shell function (busybox ash) that prints a node's glusterfs options for `spread`, given the node's IPv4
 * address: `gluster_read_opts 10.0.1.7`. The init runs it after DHCP; bench/storm runs the same text.
 */
export function renderReadOptsFn(spread: ReadSpread): string {
  const opts = [
    ...spread.replicate.map((r) => `--xlator-option=${r.name}.read-subvolume-index=$((n % ${r.children}))`),
    ...spread.disperse.map((d) => `--xlator-option=${d}.read-policy=round-robin`),
  ];
  return [
    `gluster_read_opts() { # IPv4 -> the node's read options (docs/scale.md)`,
    `  d=\${1##*.}; c=\${1%.*}; c=\${c##*.}`,
    `  n=$(( \${c:-0} * 256 + \${d:-0} ))`,
    `  echo "${opts.join(" ")}"`,
    `}`,
  ].join("\n");
}

/**
 * `fetch_image FILE PIECE WINDOW DIR` (busybox ash): FILE's bytes on stdout, in order, read as PIECE-byte pieces
 * with up to WINDOW of them in flight, each a `dd` into DIR (model/readSpread.ts `fetchPlanOf`: why a sharded
 * image is read this way). A piece is read twice before it counts as failed, and must have exactly its size (the
 * last one the rest of the file), so a short read can never pass for the image; on failure the pieces still in
 * flight are ended, DIR is emptied, one line names the piece, and it returns 1. The init pipes it into tar
 * under pipefail; bench/storm runs the same text.
 */
export const FETCH_FN = `fetch_image() { # file piece-bytes window scratch-dir -> the file on stdout
  _f=$1; _c=$2; _w=$3; _d=$4; _bad=
  _s=$(stat -L -c %s "$_f") || { echo "fetch_image: cannot stat $_f" >&2; return 1; }
  _n=$(( (_s + _c - 1) / _c ))
  mkdir -p "$_d" || return 1
  _k=0; _i=0
  while [ $_k -lt $_n ]; do
    while [ $_i -lt $_n ] && [ $_i -lt $((_k + _w)) ]; do
      ( dd if="$_f" of="$_d/$_i" bs=$_c skip=$_i count=1 iflag=fullblock 2>/dev/null ||
        dd if="$_f" of="$_d/$_i" bs=$_c skip=$_i count=1 iflag=fullblock 2>/dev/null ) &
      eval "_p$_i=\\$!"
      _i=$((_i + 1))
    done
    _want=$(( _k == _n - 1 ? _s - _k * _c : _c ))
    if eval "wait \\$_p$_k" && [ "$(stat -c %s "$_d/$_k" 2>/dev/null)" = "$_want" ]; then
      cat "$_d/$_k" || _bad="writing piece $_k"
    else
      _bad="reading piece $_k ($_want bytes at $((_k * _c))) of $_f"
    fi
    rm -f "$_d/$_k"
    if [ -n "$_bad" ]; then
      while [ $_k -lt $((_i - 1)) ]; do _k=$((_k + 1)); eval "kill \\$_p$_k 2>/dev/null; wait \\$_p$_k 2>/dev/null"; rm -f "$_d/$_k"; done
      rmdir "$_d" 2>/dev/null
      echo "fetch_image: $_bad failed" >&2
      return 1
    fi
    _k=$((_k + 1))
  done
  rmdir "$_d" 2>/dev/null
  return 0
}`;

/** The glusterfs client's FUSE cache options (see mountTransport). */
export const GLUSTER_CACHE = "--attribute-timeout=3600 --entry-timeout=3600 --negative-timeout=60 --fopen-keep-cache";


/**
 * Why a GlusterFS mount did not come up, as one line for the node's failure message: the bricks the client has
 * not reached, each replica or disperse set left with too few bricks to read, and client quorum when the log
 * names it. It reads the client's own volfile (names -> host:port, sets -> their bricks) and its log. At the
 * default log level glusterfs 10 writes "Connected, attached to remote volume" when it reaches a brick and
 * "disconnected from" when it loses one, but a refused or unreachable brick is often not logged at all, so a
 * brick never seen connected counts as unreachable. Volfile order is kept, so the line is stable.
 * Exported for the test that runs it against a real client's log.
 */
export const GLUSTER_WHY = `gluster_why() { # volfile log
  awk '
    FNR == NR {
      if ($1 == "volume") { v = $2; order[++nv] = v }
      else if ($1 == "type") type[v] = $2
      else if ($1 == "option" && $2 == "remote-host") host[v] = $3
      else if ($1 == "option" && $2 == "remote-port") port[v] = $3
      else if ($1 == "option" && $2 == "redundancy") red[v] = $3
      else if ($1 == "subvolumes") { subs[v] = $0; sub(/^[ \\t]*subvolumes[ \\t]+/, "", subs[v]) }
      next
    }
    /Connected, attached to remote volume/ || /disconnected from/ {
      for (i = 1; i <= nv; i++) if (type[order[i]] == "protocol/client" && index($0, " 0-" order[i] ": ")) up[order[i]] = ($0 ~ /Connected, attached/)
    }
    /[Qq]uorum is not met/ { quorum = 1 }
    END {
      for (i = 1; i <= nv; i++) {
        v = order[i]
        if (type[v] == "protocol/client" && !up[v]) down = down (down ? ", " : "") host[v] ":" port[v]
        if (type[v] == "cluster/replicate" || type[v] == "cluster/disperse") {
          n = split(subs[v], s, " "); k = 0
          for (j = 1; j <= n; j++) if (up[s[j]]) k++
          need = type[v] == "cluster/disperse" ? n - red[v] : 1
          if (k < need) sets = sets (sets ? ", " : "") v " has " k " of " n " bricks up (needs " need ")"
        }
      }
      msg = down ? "bricks not reachable: " down : "every brick connected"
      if (sets) msg = msg "; " sets
      if (quorum) msg = msg "; client quorum not met"
      print msg
    }' "$1" "$2" 2>/dev/null
}`;

function mountTransport(c: InitConfig): string {
  switch (c.transport) {
    case "glusterfs":
      return [
        `step "mounting glusterfs volume (${c.volfile})"`,
        `mkdir -p ${NET} /var/log/glusterfs /var/lib/glusterd /var/run/gluster`,
        // argv[0] starts with "@": systemd's mark of a root storage daemon, which systemd-shutdown does not kill
        // (https://systemd.io/ROOT_STORAGE_DAEMONS/), so hybrid paths keep their server until they are unmounted.
        // Long kernel caches for names, attributes and pages: safe because netboot never changes a published
        // generation under a running node (image-<sha>, root-<sha>), and they spare a hybrid node a round trip to
        // the bricks for every lookup of a path it already knows (glusterfs's defaults are 1 s).
        // A boot storm's reads spread over the bricks: this node's replica of every set, disperse reads rotated
        // (model/readSpread.ts; the options are names and digits, word splitting is what is meant).
        ...(isEmptySpread(c.readSpread) ? [] : [renderReadOptsFn(c.readSpread!), `READ_OPTS=$(gluster_read_opts "$(cat /run/netboot/ip)")`, `step "glusterfs read spread: $READ_OPTS"`]),
        `(exec -a @glusterfs /usr/sbin/glusterfs -f ${shq(c.volfile!)} -l /run/netboot/glusterfs.log -p /run/netboot/glusterfs.pid ${GLUSTER_CACHE}${isEmptySpread(c.readSpread) ? "" : " $READ_OPTS"} ${NET}) || fail "glusterfs mount of ${c.volfile} (log: /run/netboot/glusterfs.log)"`,
        `ON_FAIL_LOG=/run/netboot/glusterfs.log`,
        GLUSTER_WHY,
        `wait_for "glusterfs mount" 30 'grep -q " ${NET} fuse" /proc/mounts && [ -e ${NET}/${c.imagePath!.replace(/^\//, "")}/. ]' "gluster_why ${shq(c.volfile!)} /run/netboot/glusterfs.log"`,
      ].join("\n");
    case "nfs": {
      // NFSv4.1 over TCP 2049 only: no rpcbind, mountd or lockd needed on the server or in the initramfs.
      // busybox mount hands `-t nfs4` with the option string to the kernel, which needs addr= (no DNS here);
      // a few tries absorb a server that comes up with the nodes.
      const server = c.nfsExport!.split(":")[0];
      const dir = `${NET}/${c.imagePath!.replace(/^\//, "")}`;
      return [
        `step "mounting nfs ${c.nfsExport} (NFSv4.1, TCP port 2049 on ${server})"`,
        `mkdir -p ${NET}`,
        `n=0`,
        `until mount -t nfs4 -o ro,vers=4.1,addr=${server} ${shq(c.nfsExport!)} ${NET}; do`,
        `  n=$((n + 1)); [ $n -ge 5 ] && fail "nfs mount of ${c.nfsExport} (NFSv4.1 on TCP port 2049 of ${server})"`,
        `  sleep 2`,
        `done`,
        `[ -d ${shq(dir)} ] || fail "imagePath ${c.imagePath}: ${dir} is not a folder on the nfs export ${c.nfsExport}"`,
      ].join("\n");
    }
    case "http":
      return `[ -n "$IMAGE_URL" ] || fail "no image URL: add netboot.image=URL to the kernel command line (BootImage's args do)"\nstep "image over http: $IMAGE_URL"`;
    default: {
      const never: never = c.transport;
      return never;
    }
  }
}

function unpack(c: InitConfig): string {
  const t = c.imageCompression;
  if (c.transport === "http")
    return `wget -q -O - "$IMAGE_URL" | tar -x${t}f - -C /newroot || fail "download or unpack of $IMAGE_URL"`;
  const dir = `${NET}${c.imagePath}`;
  if (c.fetch) {
    // the init's pipefail (set above): a piece that could not be read fails the boot even when tar took the pieces before it
    const mb = +(c.fetch.piece / 1024 ** 2).toFixed(2);
    return [
      FETCH_FN,
      `step "image in ${mb} MB pieces, ${c.fetch.window} at a time"`,
      `fetch_image ${shq(dir)}"/$IMAGE_FILE" ${c.fetch.piece} ${c.fetch.window} /run/netboot/fetch | tar -x${t}f - -C /newroot || fail "fetch or unpack of ${dir}/$IMAGE_FILE"`,
    ].join("\n");
  }
  return `tar -x${t}f ${shq(dir)}"/$IMAGE_FILE" -C /newroot || fail "unpack of ${dir}/$IMAGE_FILE"`;
}

function hybrid(c: InitConfig): string {
  if (c.mode !== "hybrid") return "";
  const lines = [`step "hybrid: ${c.hybridPaths.join(" ")} stay on ${c.transport}"`];
  for (const p of c.hybridPaths) {
    const src = `${shq(NET + c.imagePath)}"/$ROOT_DIR"${shq(p)}`;
    const shown = `${NET}${c.imagePath}/$ROOT_DIR${p}`;
    lines.push(`[ -d ${src} ] || fail "hybrid path ${p}: ${shown} is not a folder on the network file system"`);
    lines.push(`mkdir -p ${shq("/newroot" + p)} && mount --bind ${src} ${shq("/newroot" + p)} || fail "bind mount of ${p}"`);
  }
  return lines.join("\n") + "\n";
}

/**
 * What the image needs from the initramfs before its own init runs:
 * - the node's name in /etc/hostname (from `netboot.node=`), so systemd names the node before any unit starts;
 * - the resolver settings DHCP gave (unless the image links /etc/resolv.conf elsewhere, e.g. to resolved);
 * - DHCP's NTP servers, for systemd-timesyncd or chrony when the image has them;
 * - a DHCP client that keeps the lease: busybox and the udhcpc script are copied into /run/netboot (the /run
 *   tmpfs moves into the new root, the initramfs is freed by switch_root) and udhcpc runs on from there,
 *   renewing without ever removing the address (not even at its start, when udhcpc deconfigures: NETBOOT_KEEP),
 *   which the kernel keeps (no lifetime) while a hybrid path or the glusterfs client depends on it. An image that runs its own DHCP client on the boot NIC replaces it.
 */
function prepareRoot(): string {
  return [
    `if [ -n "$NODE" ]; then hostname "$NODE"; [ -d /newroot/etc ] && echo "$NODE" > /newroot/etc/hostname; fi`,
    `[ -L /newroot/etc/resolv.conf ] || cp /etc/resolv.conf /newroot/etc/resolv.conf 2>/dev/null`,
    // DHCP's NTP servers where the image's time daemon reads them: a drop-in for systemd-timesyncd, a sources
    // file for chrony (Debian's chrony.conf reads /etc/chrony/sources.d); an image with neither is left alone.
    `NTP="$(cat /run/netboot/ntp 2>/dev/null)"; if [ -n "$NTP" ]; then`,
    `  if [ -d /newroot/etc/systemd ]; then mkdir -p /newroot/etc/systemd/timesyncd.conf.d && printf '[Time]\\nNTP=%s\\n' "$NTP" > /newroot/etc/systemd/timesyncd.conf.d/netboot-dhcp.conf; fi`,
    `  if [ -d /newroot/etc/chrony ]; then mkdir -p /newroot/etc/chrony/sources.d && for n in $NTP; do echo "server $n iburst"; done > /newroot/etc/chrony/sources.d/netboot-dhcp.sources; fi`,
    `fi`,
    `mkdir -p /run/netboot/bin && cp /bin/busybox /run/netboot/bin/busybox && /run/netboot/bin/busybox --install -s /run/netboot/bin`,
    `sed '1s,.*,#!/run/netboot/bin/sh,' ${UDHCPC_SCRIPT} > /run/netboot/bin/udhcpc.script && chmod 0755 /run/netboot/bin/udhcpc.script`,
    `NETBOOT_KEEP=1 PATH=/run/netboot/bin /run/netboot/bin/udhcpc -i "$IF" -r "$(cat /run/netboot/ip)" ${UDHCPC_OPTS} -s /run/netboot/bin/udhcpc.script -p /run/netboot/udhcpc.pid >/run/netboot/udhcpc-keeper.log 2>&1 || step "warning: no DHCP client keeps the lease of $IF (log: /run/netboot/udhcpc-keeper.log)"`,
  ].join("\n");
}

/**
 * The node's overlay (render/overlay.ts: a newc archive of its hostname, /etc/hosts, keys and files), as shell
 * functions. `overlay_fetch` downloads it to /run/netboot and checks its sha256 against the one the node's boot
 * script pinned; `overlay_apply DIR [HYBRID_PATHS...]` unpacks it over DIR with busybox cpio (-u: an overlay
 * file replaces the image's, whatever its time; run as root, cpio keeps the archive's owners and modes), marks
 * an overlay's own /etc/resolv.conf for the DHCP keeper (which then leaves it as it is) and removes the archive, which may hold secrets and sits in the /run that moves into the new root. A file below
 * a hybrid path would be written into the tree every node shares, so such an archive is refused. Any failure is
 * one `netboot: FAILED: overlay ...` line: the node never boots with half its configuration.
 * Exported for the test that runs it with busybox against a real HTTP server.
 */
export const OVERLAY_FNS = `overlay_fetch() {
  [ -n "$OVERLAY_URL" ] || return 0
  [ -n "$OVERLAY_SHA" ] || fail "overlay $OVERLAY_URL: no netboot.overlay.sha256= on the kernel command line"
  step "overlay: fetching $OVERLAY_URL"
  rm -f /run/netboot/overlay.cpio
  wget -q -O /run/netboot/overlay.cpio "$OVERLAY_URL" || fail "overlay $OVERLAY_URL: download failed (missing, refused to this address, or unreachable)"
  got=$(sha256sum /run/netboot/overlay.cpio | cut -d' ' -f1)
  [ "$got" = "$OVERLAY_SHA" ] || { rm -f /run/netboot/overlay.cpio; fail "overlay $OVERLAY_URL: sha256 $got is not the $OVERLAY_SHA its boot script pins"; }
}
overlay_apply() { # dir [hybrid paths...]
  [ -n "$OVERLAY_URL" ] || return 0
  dir=$1; shift
  for p in "$@"; do
    p=\${p#/}
    if cpio -t < /run/netboot/overlay.cpio 2>/dev/null | grep -q -e "^$p/" -e "^$p$"; then
      rm -f /run/netboot/overlay.cpio
      fail "overlay $OVERLAY_URL: has files below the hybrid path /$p, which every node shares"
    fi
  done
  n=$(cpio -t < /run/netboot/overlay.cpio 2>/dev/null | wc -l)
  (cd "$dir" && cpio -i -d -u < /run/netboot/overlay.cpio 2>/dev/null) || { rm -f /run/netboot/overlay.cpio; fail "overlay $OVERLAY_URL: unpacking into $dir"; }
  # the overlay's resolver settings are the admin's: the DHCP keeper must not write DHCP's over them on renewal
  if cpio -t < /run/netboot/overlay.cpio 2>/dev/null | grep -qx etc/resolv.conf; then : > /run/netboot/resolv.conf.overlay; fi
  rm -f /run/netboot/overlay.cpio
  step "overlay: $n entries laid over the root"
}`;

/** The `image` stage mark names what the node unpacked: the tarball (and the hybrid tree), plain names. */
function markImage(c: InitConfig): string {
  return `mark "image?image=\${IMAGE_FILE##*/}${c.mode === "hybrid" ? "&root=$ROOT_DIR" : ""}"`;
}

function handoff(c: InitConfig): string {
  const release = c.transport !== "http" && c.mode === "ram" ? `umount ${NET} 2>/dev/null\n` : "";
  switch (c.handoff) {
    case "switch_root":
      return [
        release.trimEnd(),
        `[ -L /newroot/sbin/init ] || [ -x /newroot/sbin/init ] || fail "the image has no /sbin/init"`,
        prepareRoot(),
        // After prepareRoot: the overlay's /etc/hostname or resolv.conf wins over the ones made from DHCP.
        `overlay_apply /newroot${c.mode === "hybrid" ? " " + c.hybridPaths.map(shq).join(" ") : ""}`,
        markImage(c),
        `step "switching root to the image's /sbin/init"`,
        `for d in dev proc sys run; do mkdir -p /newroot/$d; mount --move /$d /newroot/$d; done`,
        `exec switch_root /newroot /sbin/init "$@"`,
      ].filter(Boolean).join("\n");
    case "kexec":
      return [
        `K=/newroot/vmlinuz; I=/newroot/initrd.img`,
        `[ -e $K ] || fail "kexec: the image has no /vmlinuz"`,
        // The overlay would be lost with this kernel's RAM: it was fetched and checked (so a node whose overlay is
        // refused stops here), and the command line handed on names it for the image's own netboot initramfs.
        `rm -f /run/netboot/overlay.cpio`,
        `step "kexec into the image's kernel"`,
        // -a: kexec_file_load first (the only one Secure Boot lockdown allows, for a signed kernel), else kexec_load
        `if [ -e $I ]; then kexec -a -l $K --initrd=$I --command-line="$(cat /proc/cmdline)"; else kexec -a -l $K --command-line="$(cat /proc/cmdline)"; fi || fail "kexec -l $K (see the kernel messages above)"`,
        release.trimEnd(),
        markImage(c),
        `kexec -e || fail "kexec -e"`,
      ].filter(Boolean).join("\n");
    default: {
      const never: never = c.handoff;
      return never;
    }
  }
}

export function renderInit(c: InitConfig): string {
  const rescue = c.onFailure === "shell"
    ? `echo "netboot: rescue shell (exit to reboot)"\n  setsid cttyhack sh\n  reboot -f`
    : `echo "netboot: rebooting in 10 seconds"\n  sleep 10\n  reboot -f`;
  return `#!/bin/sh
# netboot initramfs /init for boot image "${c.name}" (generated; do not edit)
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
/bin/busybox mkdir -p /proc /sys /dev /run /tmp /newroot /usr/bin /usr/sbin /sbin
/bin/busybox --install -s
mount -t devtmpfs -o mode=0755 devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir -p /run/netboot

step() { echo "netboot: $*"; }
# One request to the PxeServer's nginx, which logs it: how \`npm run status\` sees the hand-off. Never fails the boot.
mark() { [ -n "$STAGE_URL" ] && wget -q -T 5 -O /dev/null "$STAGE_URL$1" 2>/dev/null; true; }
fail() {
  echo "netboot: FAILED: $*"
  # the daemon's last distinct warnings and errors, not its whole chatter
  [ -n "$ON_FAIL_LOG" ] && [ -f "$ON_FAIL_LOG" ] && sed 's/^\\[[^]]*\\] //' "$ON_FAIL_LOG" | grep '^[EWC] ' | uniq | tail -n 5
  ${rescue}
}
${OVERLAY_FNS}
wait_for() { # what seconds condition [command that says why, for the failure line]
  n=0
  while ! eval "$3"; do
    n=$((n + 1)); [ $n -gt $(($2 * 2)) ] && fail "timed out waiting for $1\${4:+: $(eval "$4")}"
    usleep 500000
  done
}

IMAGE_URL=${shq(c.imageUrl ?? "")}
IMAGE_FILE=image.tar.${c.imageCompression === "z" ? "gz" : "xz"}
ROOT_DIR=root
BOOTIF=
ROOTSIZE=90%
for x in $(cat /proc/cmdline); do
  case "$x" in
    BOOTIF=*) BOOTIF=\${x#BOOTIF=} ;;
    netboot.image=*) IMAGE_URL=\${x#netboot.image=}; IMAGE_FILE=\${x#netboot.image=} ;;
    netboot.root=*) ROOT_DIR=\${x#netboot.root=} ;;
    netboot.rootsize=*) ROOTSIZE=\${x#netboot.rootsize=} ;;
    netboot.node=*) NODE=\${x#netboot.node=} ;;
    netboot.overlay=*) OVERLAY_URL=\${x#netboot.overlay=} ;;
    netboot.overlay.sha256=*) OVERLAY_SHA=\${x#netboot.overlay.sha256=} ;;
    netboot.stage=*) STAGE_URL=\${x#netboot.stage=} ;;
    netboot.debug) set -x ;;
  esac
done
${c.transport === "http" ? "" : `# on a network file system the image and the hybrid tree are names inside imagePath, never paths
case "$IMAGE_FILE/$ROOT_DIR" in */*/*|*..*) fail "netboot.image= and netboot.root= must be plain names (got $IMAGE_FILE, $ROOT_DIR)" ;; esac
`}step "boot image ${c.name} starting on $(uname -r)\${NODE:+ (node $NODE)}"

step "loading ${c.modules.length} kernel modules"
for m in ${c.modules.map(shq).join(" ")}; do
  insmod "$m" || fail "insmod $m"
done

step "bringing up the boot NIC"
ip link set lo up
MAC=$(echo "\${BOOTIF#01-}" | tr 'A-F-' 'a-f:')
find_nic() {
  for d in /sys/class/net/*; do
    n=\${d##*/}; [ "$n" = lo ] && continue
    if [ -z "$MAC" ] || [ "$(cat $d/address)" = "$MAC" ]; then IF=$n; return 0; fi
  done
  return 1
}
IF=
wait_for "the boot NIC\${MAC:+ $MAC}" 20 find_nic
ip link set "$IF" up
udhcpc -i "$IF" -q -n -t 10 -T 2 ${UDHCPC_OPTS} -s ${UDHCPC_SCRIPT} >/run/netboot/udhcpc.log 2>&1 || fail "DHCP on $IF (log: /run/netboot/udhcpc.log)"
step "$IF is up: $(cat /run/netboot/ip)"

${mountTransport(c)}

step "unpacking the OS image into RAM"
mount -t tmpfs -o size=$ROOTSIZE,mode=0755 rootfs /newroot || fail "tmpfs for the root"
set -o pipefail
${unpack(c)}
${hybrid(c)}overlay_fetch
${handoff(c)}
`;
}

export function renderUdhcpcScript(): string {
  return `#!/bin/sh
# udhcpc only configures the interface through this script (generated; do not edit)
case "$1" in
  deconfig)
    # the keeper left running for the booted OS (NETBOOT_KEEP=1) starts with a deconfig too: the address in use stays
    [ -n "$NETBOOT_KEEP" ] && exit 0
    ip addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound|renew)
    # a renewal of the same address changes nothing: flushing it would cut the network file system's connections
    if ! ip -4 addr show dev "$interface" | grep -q " $ip/"; then
      ip addr flush dev "$interface"
      ip addr add "$ip/\${mask:-24}" dev "$interface"
    fi
    # the MTU before the routes: a route takes the link's MTU when it is made
    [ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
    for r in $router; do ip route replace default via "$r" dev "$interface"; break; done
    # never through a link (an image whose resolv.conf belongs to a resolver daemon keeps it), nor over the overlay's
    if [ ! -L /etc/resolv.conf ] && [ ! -e /run/netboot/resolv.conf.overlay ]; then
      : > /etc/resolv.conf
      # the domain first, then the search list (option 119) without repeating it
      s="$search"; case " $search " in *" $domain "*) ;; *) s="$domain $search" ;; esac
      [ -n "$domain$search" ] && echo "search" $s >> /etc/resolv.conf
      for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
    fi
    # NTP servers for the image's time daemon (prepareRoot writes them where it reads them)
    echo $ntpsrv > /run/netboot/ntp
    echo "$ip" > /run/netboot/ip
    ;;
esac
exit 0
`;
}

/** The generated files of the initramfs (init and helpers). */
export function renderInitFiles(c: InitConfig): RenderedFile[] {
  return [
    { path: INIT_PATH, mode: 0o755, content: renderInit(c) },
    { path: UDHCPC_SCRIPT, mode: 0o755, content: renderUdhcpcScript() },
  ];
}
