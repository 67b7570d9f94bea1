#!/usr/bin/env node
// Forwards connections: node tcpForward.js LISTEN TARGET, each `tcp:HOST:PORT` or `unix:PATH`.
// Started inside a test host's network namespace (listen on a unix socket, connect to the host's sshd), so a
// process in the root namespace can reach it without any address outside the namespaces.
"use strict";
const net = require("net");
const fs = require("fs");
const spec = (s) => {
  const [kind, ...rest] = s.split(":");
  return kind === "unix" ? { path: rest.join(":") } : { host: rest[0], port: Number(rest[1]) };
};
const [listen, target] = process.argv.slice(2).map(spec);
if (listen.path) fs.rmSync(listen.path, { force: true });
const server = net.createServer((c) => {
  const u = net.connect(target);
  c.pipe(u).pipe(c);
  const end = () => { c.destroy(); u.destroy(); };
  c.on("error", end); u.on("error", end); c.on("close", end); u.on("close", end);
});
server.listen(listen, () => process.stdout.write(`listening ${JSON.stringify(server.address())}\n`));
process.on("SIGTERM", () => { server.close(); if (listen.path) fs.rmSync(listen.path, { force: true }); process.exit(0); });
