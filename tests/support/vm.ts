/**
 * Boot Debian's cloud kernel under qemu with a throwaway initramfs, for
 * kernel features this machine's kernel lacks (nftables' `queue` statement:
 * CONFIG_NFT_QUEUE). tests/support/vm-kernel.sh unpacks the kernel into
 * .cache/vm-kernel/ (`.ci/run` does it). The initramfs holds busybox, the
 * host binaries a test names (with the libraries `ldd` lists), files, and
 * the kernel modules to load; its /init runs the test's shell script and
 * powers off. The serial console comes back as text.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { packageRoot } from './red-runtime';

const execFileP = promisify(execFile);
const KERNEL_DIR = path.join(packageRoot, '.cache', 'vm-kernel', 'root');

export interface VmKernel {
  image: string;
  /** lib/modules/<version> of the unpacked package. */
  modulesDir: string;
}

/** The unpacked kernel, or why there is none (to skip with). */
export function vmKernel(): VmKernel | string {
  const boot = path.join(KERNEL_DIR, 'boot');
  const image = fs.existsSync(boot) ? fs.readdirSync(boot).find((f) => f.startsWith('vmlinuz-')) : undefined;
  if (!image) return 'no VM kernel: run tests/support/vm-kernel.sh (needs apt lists; .ci/run does it)';
  return { image: path.join(boot, image), modulesDir: path.join(KERNEL_DIR, 'lib', 'modules', image.slice('vmlinuz-'.length)) };
}

/** Module files for `names` and everything they depend on, dependencies first (from modules.dep). */
function moduleChain(modulesDir: string, names: string[]): string[] {
  const deps = new Map<string, string[]>();
  for (const line of fs.readFileSync(path.join(modulesDir, 'modules.dep'), 'utf8').split('\n')) {
    const [file, rest] = line.split(':');
    if (file) deps.set(file, rest.trim() ? rest.trim().split(/\s+/) : []);
  }
  const byName = (name: string): string => {
    const file = [...deps.keys()].find((f) => path.basename(f) === `${name}.ko`);
    if (!file) throw new Error(`module ${name} is not in ${modulesDir}`);
    return file;
  };
  const order: string[] = [];
  const visit = (file: string): void => {
    if (order.includes(file)) return;
    for (const d of deps.get(file) ?? []) visit(d);
    order.push(file);
  };
  for (const n of names) visit(byName(n));
  return order;
}

/** Shared libraries a host binary loads (absolute paths), per ldd. */
async function libraries(binary: string): Promise<string[]> {
  const { stdout } = await execFileP('ldd', [binary]);
  return [...stdout.matchAll(/(\/\S+\.so[^\s]*)/g)].map((m) => m[1]);
}

async function which(name: string): Promise<string> {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = path.join(dir, name);
    if (dir && fs.existsSync(p)) return fs.realpathSync(p);
  }
  throw new Error(`${name} not found on PATH`);
}

export interface VmRun {
  /** Host binaries to copy to /bin (with their libraries). */
  binaries: string[];
  /** [host path, path in the VM] */
  files: Array<[string, string]>;
  /** Kernel modules to load, by name (their dependencies come along). */
  modules: string[];
  /** Shell script /init runs (busybox sh) once the modules are in. */
  script: string;
  timeoutMs?: number;
}

/** Boot the kernel with an initramfs built from `run`; resolves with the console output. */
export async function runInVm(kernel: VmKernel, run: VmRun): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-vm-'));
  try {
    const tree = path.join(dir, 'tree');
    const put = (src: string, dest: string): void => {
      const to = path.join(tree, dest);
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.copyFileSync(src, to);
      fs.chmodSync(to, fs.statSync(src).mode & 0o777);
    };
    const busybox = await which('busybox');
    // under the name asked for (a binary may be a link to a multi-call one)
    for (const name of ['busybox', ...run.binaries]) {
      const bin = await which(name);
      put(bin, path.join('bin', name));
      for (const lib of await libraries(bin)) put(fs.realpathSync(lib), lib);
    }
    const { stdout: applets } = await execFileP(busybox, ['--list']);
    for (const a of applets.split('\n').filter(Boolean)) {
      const link = path.join(tree, 'bin', a);
      if (!fs.existsSync(link)) fs.symlinkSync('busybox', link);
    }
    for (const [src, dest] of run.files) put(src, dest);
    const mods = moduleChain(kernel.modulesDir, run.modules);
    mods.forEach((m, i) => put(path.join(kernel.modulesDir, m), `modules/${String(i).padStart(2, '0')}-${path.basename(m)}`));
    fs.writeFileSync(path.join(tree, 'test.sh'), run.script);
    fs.writeFileSync(
      path.join(tree, 'init'),
      [
        '#!/bin/busybox sh',
        'export PATH=/bin',
        'mkdir -p /proc /sys /dev /run /tmp',
        'mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev; mount -t tmpfs run /run; mount -t tmpfs tmp /tmp',
        'for m in /modules/*.ko; do insmod "$m" || echo "@@vm insmod failed: $m"; done',
        'ip link set lo up',
        'echo "@@vm start"',
        'sh /test.sh 2>&1',
        'echo "@@vm end"',
        'poweroff -f',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const initrd = path.join(dir, 'initrd.cpio');
    await cpio(tree, initrd);
    return await qemu(kernel.image, initrd, run.timeoutMs ?? 120_000);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A newc cpio archive of `tree` (busybox cpio, fed the file list). */
async function cpio(tree: string, out: string): Promise<void> {
  const list: string[] = [];
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(tree, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      list.push(p);
      if (e.isDirectory()) walk(p);
    }
  };
  walk('');
  await new Promise<void>((resolve, reject) => {
    const child = spawn('busybox', ['cpio', '-o', '-H', 'newc'], { cwd: tree, stdio: ['pipe', fs.openSync(out, 'w'), 'pipe'] });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`cpio exited ${code}: ${err}`))));
    child.stdin?.end(`${list.join('\n')}\n`);
  });
}

/**
 * Boot and collect the serial console until the VM powers off. Software
 * emulation (tcg): it boots in a few seconds, and nested KVM hangs on this
 * machine.
 */
function qemu(kernel: string, initrd: string, timeoutMs: number): Promise<string> {
  const args = ['-accel', 'tcg', '-m', '512', '-smp', '1', '-display', 'none', '-monitor', 'none', '-serial', 'stdio', '-no-reboot', '-nic', 'none',
    '-kernel', kernel, '-initrd', initrd, '-append', 'console=ttyS0 panic=-1 quiet'];
  return new Promise((resolve, reject) => {
    const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (!out.includes('@@vm end')) reject(new Error(`VM did not finish (qemu ${signal ?? `exit ${code}`}):\n${out.slice(-3000)}\n${err.slice(-1000)}`));
      else resolve(out.replace(/\r/g, ''));
    });
  });
}
