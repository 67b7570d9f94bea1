/** nginx server block for a PxeServer's HTTP root (kernels, initramfs, images, iPXE scripts). */
import { full, PxeServerModel, STAGE_PATH } from "../model/pxe";
import { header, RenderedFile } from "./types";

export function renderNginx(m: PxeServerModel): RenderedFile {
  const P = (p: string) => full(m, p);
  const content =
    header("#", `PxeServer "${m.name}"`) +
    `server {\n` +
    `    listen ${m.serverIp}:${m.httpPort};\n` +
    `    server_name _;\n` +
    `    root ${P(m.paths.httpRoot)};\n` +
    `    autoindex off;\n` +
    `    sendfile on;\n` +
    `    tcp_nopush on;\n` +
    `    access_log ${P(m.paths.runDir)}/nginx-${m.name}.access.log;\n` +
    `    location / {\n` +
    `        try_files $uri =404;\n` +
    `    }\n` +
    // Node overlays may hold secrets: each NodeGroup's file allows each archive to its node's address only
    // (exact locations, matched first); any other request below /overlays/ is refused.
    // Stage marks (docs/status.md): a node requests /netboot/stage/<stage>; the access log is the record.
    `    location ^~ /${STAGE_PATH} {\n` +
    `        return 204;\n` +
    `    }\n` +
    `    location ^~ /overlays/ {\n` +
    `        deny all;\n` +
    `    }\n` +
    `    include ${P(m.paths.base)}/nginx-overlays.d/*.conf;\n` +
    `}\n`;
  return { path: m.paths.nginxConf, mode: 0o644, content };
}

/** A complete nginx.conf around the server block, for running nginx by hand or in the lab. */
export function renderNginxMain(m: PxeServerModel): RenderedFile {
  const P = (p: string) => full(m, p);
  const content =
    header("#", `PxeServer "${m.name}" (standalone nginx: nginx -c ${P(`${m.paths.base}/nginx.conf`)})`) +
    `worker_processes 1;\n` +
    `pid ${P(m.paths.runDir)}/nginx-${m.name}.pid;\n` +
    `error_log ${P(m.paths.runDir)}/nginx-${m.name}.error.log;\n` +
    `events { worker_connections 256; }\n` +
    `http {\n` +
    `    include /etc/nginx/mime.types;\n` +
    `    default_type application/octet-stream;\n` +
    `    client_body_temp_path ${P(m.paths.runDir)}/nginx-tmp;\n` +
    `    include ${P(m.paths.nginxConf)};\n` +
    `}\n`;
  return { path: `${m.paths.base}/nginx.conf`, mode: 0o644, content };
}
