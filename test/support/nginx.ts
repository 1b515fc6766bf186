import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './child-process.js';

/** Where Debian puts nginx; NGINX overrides it. */
const NGINX = process.env['NGINX'] ?? '/usr/sbin/nginx';

/** Whether nginx can run here (CI installs it; elsewhere a test may skip without it). */
export function nginxPresent(): boolean {
  return spawnSync(NGINX, ['-v'], { stdio: 'ignore' }).status === 0;
}

/**
 * The load balancer a deployment puts in front of several Holdfast nodes, as docs/redis.md shows
 * it: round robin with no stickiness, WebSocket upgrades passed through, and read/send timeouts
 * longer than the heartbeat's interval + timeout (25 s + 20 s by default), so that nginx never
 * closes a quiet but healthy connection. A node that refuses connections is skipped.
 */
export function nginxConfig(dir: string, port: number, upstreams: readonly number[]): string {
  return `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
${process.getuid?.() === 0 ? 'user root;' : ''}
events { worker_connections 1024; }
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
  upstream holdfast {
${upstreams.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=1s;`).join('\n')}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://holdfast;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_connect_timeout 1s;
      proxy_read_timeout 75s;
      proxy_send_timeout 75s;
      proxy_next_upstream error timeout;
    }
  }
}
`;
}

/** nginx in front of the given ports, on a free port of its own, with its files in a temp folder. */
export class Nginx {
  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly child: ChildProcess,
  ) {}

  static async start(upstreams: readonly number[]): Promise<Nginx> {
    const dir = mkdtempSync(join(tmpdir(), 'holdfast-nginx-'));
    const port = await freePort();
    const config = join(dir, 'nginx.conf');
    writeFileSync(config, nginxConfig(dir, port, upstreams));
    const child = spawn(NGINX, ['-c', config, '-p', dir, '-e', join(dir, 'error.log')], { stdio: 'ignore' });
    const nginx = new Nginx(port, dir, child);
    const deadline = Date.now() + 5000;
    while (!(await accepts(port))) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`nginx did not start (exit ${child.exitCode}); see ${dir}/error.log`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return nginx;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/holdfast`;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}
