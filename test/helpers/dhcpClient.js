#!/usr/bin/env node
// A small DHCP client for tests: sends DISCOVER (then REQUEST for the first address offer) with a chosen MAC,
// client architecture (option 93), user class (77) and vendor class (60), and prints every reply as JSON.
// Runs inside a network namespace: `ip netns exec NS node dhcpClient.js --mac aa:.. --arch 0 --vendor PXEClient`.
"use strict";
const dgram = require("dgram");
const crypto = require("crypto");

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
const mac = Buffer.from((args.mac || "52:54:00:12:34:56").split(":").map((h) => parseInt(h, 16)));
const timeout = Number(args.timeout || 3000);
const xid = crypto.randomBytes(4);

function packet(type, extra) {
  const p = Buffer.alloc(240);
  p[0] = 1; p[1] = 1; p[2] = 6;
  xid.copy(p, 4);
  p.writeUInt16BE(0x8000, 10); // broadcast replies: we have no address yet
  mac.copy(p, 28);
  p.writeUInt32BE(0x63825363, 236);
  const opts = [[53, Buffer.from([type])]];
  if (args.arch !== undefined) {
    const b = Buffer.alloc(2); b.writeUInt16BE(Number(args.arch)); opts.push([93, b]);
    opts.push([94, Buffer.from([1, 2, 1])]);
    opts.push([97, Buffer.concat([Buffer.from([0]), crypto.createHash("md5").update(mac).digest()])]);
  }
  if (args.vendor) opts.push([60, Buffer.from(args.vendor)]);
  if (args.userclass) opts.push([77, Buffer.from(args.userclass)]);
  if (args.ipxe175) opts.push([175, Buffer.from([1, 1, 1])]);
  opts.push([55, Buffer.from([1, 3, 6, 12, 15, 28, 43, 60, 66, 67, 128, 129, 130, 131, 132, 133, 134, 135])]);
  for (const [c, v] of extra || []) opts.push([c, v]);
  const parts = [p];
  for (const [c, v] of opts) parts.push(Buffer.from([c, v.length]), v);
  parts.push(Buffer.from([255]));
  return Buffer.concat(parts);
}

function parse(buf) {
  const ip = (o) => Array.from(buf.subarray(o, o + 4)).join(".");
  const str = (o, n) => buf.subarray(o, o + n).toString("latin1").replace(/\0.*$/s, "");
  const out = { op: buf[1] === 0 ? undefined : buf[0], xid: buf.subarray(4, 8).toString("hex"), yiaddr: ip(16), siaddr: ip(20), sname: str(44, 64), file: str(108, 128), options: {} };
  let i = 240;
  while (i < buf.length && buf[i] !== 255) {
    if (buf[i] === 0) { i++; continue; }
    const c = buf[i], n = buf[i + 1], v = buf.subarray(i + 2, i + 2 + n);
    out.options[c] = [12, 15, 56, 60, 66, 67].includes(c) ? v.toString("latin1") : [1, 3, 6, 28, 54, 50].includes(c) ? Array.from(v).join(".") : c === 53 ? v[0] : v.toString("hex");
    i += 2 + n;
  }
  return out;
}

const sock = dgram.createSocket({ type: "udp4", reuseAddr: true });
const replies = [];
let requested = false;
sock.on("message", (msg) => {
  if (msg.length < 240 || msg.subarray(4, 8).compare(xid) !== 0) return;
  const r = parse(msg);
  replies.push(r);
  if (!requested && r.options[53] === 2 && r.yiaddr !== "0.0.0.0" && !args["no-request"]) {
    requested = true;
    const ipb = Buffer.from(r.yiaddr.split(".").map(Number));
    const sid = Buffer.from(String(r.options[54]).split(".").map(Number));
    sock.send(packet(3, [[50, ipb], [54, sid]]), 67, "255.255.255.255");
  }
});
// PXE proxy stage two: with an address from the site's server, ask the proxy's boot server (port 4011)
// for the file of the first menu item, as a PXE ROM does.
async function bootServerStage() {
  const proxy = replies.find((r) => r.options[53] === 2 && r.yiaddr === "0.0.0.0" && r.options[43]);
  const addr = replies.find((r) => r.options[53] === 5 && r.yiaddr !== "0.0.0.0");
  if (!proxy || !addr) return;
  require("child_process").execFileSync("ip", ["addr", "add", `${addr.yiaddr}/24`, "dev", args.iface]);
  const v = Buffer.from(proxy.options[43], "hex");
  let type;
  for (let i = 0; i < v.length && v[i] !== 255; i += 2 + v[i + 1]) if (v[i] === 9) type = v.readUInt16BE(i + 2);
  if (type === undefined) return;
  const item = Buffer.from([0, 0, 0, 0]); item.writeUInt16BE(type, 0);
  const req = packet(3, [[43, Buffer.concat([Buffer.from([71, 4]), item, Buffer.from([255])])]]);
  Buffer.from(addr.yiaddr.split(".").map(Number)).copy(req, 12); // ciaddr
  req.writeUInt16BE(0, 10);
  await new Promise((res) => sock.send(req, 4011, String(proxy.options[54]), res));
  await new Promise((res) => setTimeout(res, 1000));
}

sock.bind(68, () => {
  sock.setBroadcast(true);
  sock.send(packet(1), 67, "255.255.255.255", (err) => { if (err) { console.error(String(err)); process.exit(2); } });
  setTimeout(async () => {
    if (args.iface) await bootServerStage().catch((e) => console.error(String(e)));
    const name = { 2: "offer", 5: "ack", 6: "nak" };
    console.log(JSON.stringify(replies.map((r) => ({ type: name[r.options[53]] || r.options[53], ...r }))));
    sock.close();
  }, timeout);
});
