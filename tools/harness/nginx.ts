/**
 * The project's Nginx template rendered the way the official nginx image renders it (substituting
 * the ${NGINX_*} variables it is given), run with Debian's `nginx` binary on loopback.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ROOT, StartedProcess, startProcess } from './processes.js';
import { nginxBinary } from './system.js';
import { waitFor } from './wait.js';

export const NGINX_TEMPLATE = path.join(ROOT, 'nginx', 'templates', 'default.conf.template');

/** envsubst as the nginx image runs it: only the given variables; every ${NGINX_*} must be given. */
export function renderTemplate(template: string, variables: Record<string, string>): string {
  return template.replace(/\$\{(NGINX_[A-Z_]+)\}/g, (_, name: string) => {
    const value = variables[name];
    if (value === undefined) throw new Error(`the template needs ${name}`);
    return value;
  });
}

export interface RunningNginx {
  url: string;
  dir: string;
  process: StartedProcess;
  stop(): Promise<void>;
}

/** Writes a main nginx.conf like the image's (http { include conf.d/*.conf }) around the rendered server. */
function prepare(variables: Record<string, string>): { dir: string; conf: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'nginx-'));
  for (const sub of ['conf.d', 'temp', 'logs']) mkdirSync(path.join(dir, sub));
  const server = renderTemplate(readFileSync(NGINX_TEMPLATE, 'utf8'), variables)
    // The image links /var/log/nginx/access.log to stdout; here it goes to the test's directory.
    .replace('/var/log/nginx/access.log', path.join(dir, 'logs', 'access.log'));
  writeFileSync(path.join(dir, 'conf.d', 'default.conf'), server);
  const conf = path.join(dir, 'nginx.conf');
  const temp = (name: string) => `${name} ${path.join(dir, 'temp', name)};`;
  writeFileSync(
    conf,
    [
      'daemon off;',
      'worker_processes 1;',
      `pid ${path.join(dir, 'nginx.pid')};`,
      `error_log ${path.join(dir, 'logs', 'error.log')} warn;`,
      'events { worker_connections 1024; }',
      'http {',
      '  include /etc/nginx/mime.types;',
      '  default_type application/octet-stream;',
      `  ${temp('client_body_temp_path')} ${temp('proxy_temp_path')} ${temp('fastcgi_temp_path')} ${temp('uwsgi_temp_path')} ${temp('scgi_temp_path')}`,
      `  include ${path.join(dir, 'conf.d', '*.conf')};`,
      '}',
    ].join('\n'),
  );
  return { dir, conf };
}

/** `nginx -t` on the rendered configuration: returns nginx's verdict. */
export function testConfiguration(variables: Record<string, string>): string {
  const { dir, conf } = prepare(variables);
  try {
    return (
      execFileSync(nginxBinary(), ['-t', '-p', dir, '-c', conf], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }) + ''
    );
  } catch (err) {
    throw new Error(`nginx -t failed: ${String((err as { stderr?: unknown }).stderr ?? err)}`, {
      cause: err,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function startNginx(variables: Record<string, string>): Promise<RunningNginx> {
  const { dir, conf } = prepare(variables);
  const proc = await startProcess(nginxBinary(), ['-p', dir, '-c', conf], null, { label: 'nginx' });
  const url = `http://127.0.0.1:${variables.NGINX_PORT}`;
  await waitFor(async () => (await fetch(`${url}/nginx-health`)).ok, {
    what: 'nginx to answer',
    timeoutMs: 10_000,
  });
  return {
    url,
    dir,
    process: proc,
    stop: async () => {
      await proc.stop('SIGQUIT');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function accessLog(nginx: RunningNginx): string {
  return readFileSync(path.join(nginx.dir, 'logs', 'access.log'), 'utf8');
}
