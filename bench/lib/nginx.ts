/**
 * The balancer of the failover workload (bench/lib/cluster.ts): nginx in front of the two nodes,
 * as docs/redis.md deploys it (WebSocket upgrades passed through, read/send timeouts above the
 * heartbeat's), except that node B is the only primary and node A its `backup`: every client
 * connects to B while B is up, and once B refuses connections nginx sends the reconnecting
 * clients to A. The same URL before and after the kill, as an application's clients have it.
 *
 * The backup is never marked down (`max_fails=0`) and a connect may take 5 s: thousands of clients
 * reconnecting at once overflow the survivor's accept backlog, a dropped SYN is resent after 1 s,
 * and nginx's defaults (max_fails=1 over 10 s) would then refuse every client for 10 s with "no
 * live upstreams": the bench would measure nginx's passive health check, not the systems.
 * BENCH_NGINX_LOG=<file> writes nginx's log there, warnings included, to outlive the temp folder.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, waitForPort } from './servers.js';
import { pinning, registerProcess } from './spawn.js';

/** Debian's nginx (NGINX overrides it); undefined when it does not run. */
export function nginxBinary(): string | undefined {
  const path = process.env['NGINX'] ?? '/usr/sbin/nginx';
  return spawnSync(path, ['-v'], { stdio: 'ignore' }).status === 0 ? path : undefined;
}

/** Open files nginx may use: two per proxied connection (client side and upstream). */
const FILE_LIMIT = 20_000;

export function failoverNginxConfig(dir: string, port: number, primary: number, backup: number): string {
  return `
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile ${FILE_LIMIT};
pid ${dir}/nginx.pid;
error_log ${process.env['BENCH_NGINX_LOG'] ?? `${dir}/error.log`} warn;
${process.getuid?.() === 0 ? 'user root;' : ''}
events { worker_connections ${FILE_LIMIT - 500}; multi_accept on; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      close;
  }
  upstream nodes {
    server 127.0.0.1:${primary} max_fails=1 fail_timeout=10s;
    server 127.0.0.1:${backup} backup max_fails=0;
  }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / {
      proxy_pass http://nodes;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_connect_timeout 5s;
      proxy_read_timeout 75s;
      proxy_send_timeout 75s;
      proxy_next_upstream error timeout;
    }
  }
}
`;
}

export class FailoverBalancer {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
    private readonly exited: Promise<void>,
  ) {}

  /** nginx on a free port, its files in `folder` (removed by the caller), pinned to the server's CPU. */
  static async start(folder: string, primary: number, backup: number): Promise<FailoverBalancer> {
    const binary = nginxBinary();
    if (binary === undefined) throw new Error('nginx is not installed (Debian: apt-get install -y nginx)');
    const port = await freePort();
    const config = join(folder, 'nginx.conf');
    writeFileSync(config, failoverNginxConfig(folder, port, primary, backup));
    let command = ['sh', '-c', `ulimit -n ${FILE_LIMIT} && exec "$@"`, 'sh', binary, '-c', config, '-p', folder, '-e', join(folder, 'error.log')];
    if (pinning !== undefined) command = ['taskset', '-c', String(pinning.server), ...command];
    const [file, ...args] = command as [string, ...string[]];
    const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    registerProcess(child);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const balancer = new FailoverBalancer(port, child, exited);
    try {
      await waitForPort(port, 5000);
    } catch (error) {
      await balancer.stop();
      throw new Error(`nginx did not start: ${error instanceof Error ? error.message : String(error)} (its log: ${folder}/error.log)`);
    }
    return balancer;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    if ((await Promise.race([this.exited.then(() => 'done'), sleep(5000).then(() => 'late')])) === 'late') {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}
