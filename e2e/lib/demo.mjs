// Starts `nanopost demo` (the release binary) on a kernel-chosen port and reads what it prints:
// the app's URL, the fakes' URLs and the demo user's password. Stops it at the end.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const REPO = resolve(import.meta.dirname, '..', '..');

export const BINARY = process.env.E2E_NANOPOST_BIN || join(REPO, 'target', 'release', 'nanopost');

/** What the demo printed, once it is serving. */
export class Demo {
  constructor(child, dir, printed) {
    this.child = child;
    this.dir = dir;
    Object.assign(this, printed);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; removes the temporary directory. */
  async stop(graceMs = 10_000) {
    const child = this.child;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((res) => child.once('exit', res));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const PATTERNS = {
  url: /^Nanopost is running: open (\S+)/m,
  instagram: /^\s*Instagram fake:\s+(\S+)/m,
  linkedin: /^\s*LinkedIn fake:\s+(\S+)/m,
  tiktok: /^\s*TikTok fake:\s+(\S+)/m,
  telegram: /^\s*Telegram fake:\s+(\S+)/m,
  demoEmail: /Sign in as (\S+) with the password/m,
  demoPassword: /with the password (\S+)/m,
};

/**
 * Starts the demo. Its output goes to `logPath`; its data (the demo's own temporary directory)
 * under a directory of ours, removed by `stop()`. Fails after `timeoutMs` without the
 * "Nanopost is running" line.
 */
export async function startDemo({ logPath, timeoutMs = 60_000 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'nanopost-e2e-'));
  // The demo reads no configuration of this machine: NANOPOST_* variables are left out, and it
  // runs in an empty directory (TMPDIR too, so its data directory lands in ours).
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NANOPOST_')));
  env.TMPDIR = dir;
  env.NANOPOST_LOG = process.env.E2E_NANOPOST_LOG || 'info';
  const child = spawn(BINARY, ['demo', '--listen', '127.0.0.1:0'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.setEncoding('utf8');
  const log = logPath ? createWriteStream(logPath) : null;
  child.stdout.on('data', (chunk) => log?.write(chunk));
  child.stderr.on('data', (chunk) => log?.write(chunk));
  // Never let a demo outlive the test process.
  process.once('exit', () => child.kill('SIGKILL'));
  let out = '';
  const started = new Promise((res, rej) => {
    let settled = false;
    const settle = (fn, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn(value);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      settle(rej, new Error(`nanopost demo did not say it was running within ${timeoutMs} ms; it printed:\n${out}`));
    }, timeoutMs);
    child.on('error', (e) =>
      settle(rej, new Error(`cannot start ${BINARY}: ${e.message} (build it with: cargo build --release -p nanopost)`)),
    );
    child.on('exit', (code, signal) =>
      settle(rej, new Error(`nanopost demo exited (${code ?? signal}) before serving; it printed:\n${out}`)),
    );
    child.stdout.on('data', (chunk) => {
      if (settled) return;
      out += chunk;
      if (!PATTERNS.url.test(out)) return;
      const found = {};
      for (const [key, re] of Object.entries(PATTERNS)) {
        const m = out.match(re);
        if (!m) return settle(rej, new Error(`nanopost demo did not print ${key}; it printed:\n${out}`));
        found[key] = m[1].replace(/\/$/, '');
      }
      settle(res, found);
    });
  });
  try {
    return new Demo(child, dir, await started);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
