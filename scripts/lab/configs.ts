/**
 * What the lab needs to know from the rendered daemon configs: the interface dnsmasq serves, and the files
 * the daemons write at run time (pid, leases, logs, temp folders), so the lab can watch the logs and remove
 * what the daemons made when it stops. Pure: config text in, paths out.
 */

export interface DnsmasqFacts { interface?: string; pidFile?: string; leaseFile?: string }

export function dnsmasqFacts(conf: string): DnsmasqFacts {
  const get = (k: string) => new RegExp(`^${k}=(.*)$`, "m").exec(conf)?.[1]?.trim();
  return { interface: get("interface"), pidFile: get("pid-file"), leaseFile: get("dhcp-leasefile") };
}

export interface NginxFacts {
  pidFile?: string;
  errorLog?: string;
  tempDirs: string[];
  includes: string[];
  accessLogs: string[];
  listens: string[];
}

/** Directives of an nginx config (top level or a server block; comments dropped). */
export function nginxFacts(conf: string): NginxFacts {
  const text = conf.replace(/#[^\n]*/g, "");
  const all = (k: string) => [...text.matchAll(new RegExp(`(?:^|[;{}\\s])${k}\\s+([^;\\s]+)[^;]*;`, "g"))].map((m) => m[1]);
  return {
    pidFile: all("pid")[0],
    errorLog: all("error_log")[0],
    tempDirs: [...all("client_body_temp_path"), ...all("proxy_temp_path"), ...all("fastcgi_temp_path")],
    includes: all("include"),
    accessLogs: all("access_log").filter((p) => p !== "off"),
    listens: all("listen"),
  };
}
