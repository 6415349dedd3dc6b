#!/usr/bin/env node
/**
 * The npm registry mirror these machines use lacks some versions of platform-specific optional
 * packages (darwin/win32 builds of native addons). `npm install` then leaves them out of
 * package-lock.json, and `npm ci` refuses the lockfile as out of sync. This adds the missing
 * entries, marked optional with the os/cpu their names declare, so `npm ci` skips them on Linux
 * as it would with a complete lockfile. Run it after every `npm install` that changes the lock.
 */
import { readFileSync, writeFileSync } from 'node:fs';

const LOCK = new URL('../package-lock.json', import.meta.url);
const OS = [
  'darwin',
  'linux',
  'win32',
  'android',
  'freebsd',
  'openbsd',
  'netbsd',
  'sunos',
  'aix',
  'openharmony',
];
const CPU = [
  'arm64',
  'x64',
  'arm',
  'ia32',
  'riscv64',
  's390x',
  'ppc64',
  'loong64',
  'mips64el',
  'wasm32',
];

const lock = JSON.parse(readFileSync(LOCK, 'utf8'));
const packages = lock.packages;

/** Where Node would find `dep` from the package at `location` (its own node_modules, then parents). */
function resolves(location, dep) {
  let dir = location;
  for (;;) {
    if (packages[`${dir ? `${dir}/` : ''}node_modules/${dep}`]) return true;
    if (!dir) return false;
    const i = dir.lastIndexOf('/node_modules/');
    dir = i === -1 ? '' : dir.slice(0, i);
  }
}

const added = [];
for (const [location, entry] of Object.entries(packages)) {
  for (const [dep, range] of Object.entries(entry.optionalDependencies ?? {})) {
    if (resolves(location, dep)) continue;
    const parts = dep.split(/[/-]/);
    const os = OS.filter((o) => parts.includes(o));
    const cpu = CPU.filter((c) => parts.includes(c));
    if (os.length === 0 && cpu.length === 0) continue; // not a platform build: leave it to npm
    const version = range.replace(/^[\^~=]/, '');
    packages[`node_modules/${dep}`] = {
      version,
      optional: true,
      ...(cpu.length ? { cpu } : {}),
      ...(os.length ? { os } : {}),
    };
    added.push(`${dep}@${version}`);
  }
}

lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
);
writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`);
process.stdout.write(
  added.length
    ? `added ${added.length} platform entries:\n  ${added.join('\n  ')}\n`
    : 'lockfile complete\n',
);
