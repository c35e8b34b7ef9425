/**
 * A real OpenSSH server inside a test namespace, touching nothing of the
 * machine's own SSH setup: its own config file and host key in a temp dir,
 * listening only on the namespace address, a lab user with a known password
 * and an authorized client key. The user exists only for this sshd: sshd runs
 * in a private mount namespace where copies of /etc/passwd, /etc/shadow and
 * /etc/group with the user added are bound over the originals (UsePAM no, so
 * sshd checks the password against that shadow file). `stop()` ends sshd and
 * removes the temp dir; `Lab.cleanup()` also kills sshd.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { run, stopChild, type Netns } from './netns';

export interface Sshd {
  host: string;
  port: number;
  user: string;
  password: string;
  /** The temp dir: the client key, the user's home (`dir`/home) and any files a test puts there. */
  dir: string;
  /** The user's home directory on the server (inside `dir`). */
  home: string;
  /** Private key the server accepts for `user`. */
  clientKey: string;
  /** Arguments for `ssh` (and, with -P for the port, `scp`/`sftp`) that read no user or system config and trust this host key unseen. */
  clientOptions(opts?: { password?: boolean }): string[];
  stop(): Promise<void>;
}

const UID = 4242;

export interface SshdOptions {
  user?: string;
  password?: string;
  /** Password guesses per connection before sshd disconnects (its default 6). */
  maxAuthTries?: number;
}

/** Start sshd in `ns` on `host:port` for a lab user (by default `lab`, password `letmein`, or the returned client key). Needs root and openssh-server. */
export async function startSshd(ns: Netns, host: string, port: number, opts: SshdOptions = {}): Promise<Sshd> {
  const { user = 'lab', password = 'letmein', maxAuthTries = 6 } = opts;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-sshd-'));
  let sshd: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    if (sshd) await stopChild(sshd);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    fs.chmodSync(dir, 0o755);
    const home = path.join(dir, 'home');
    const hostKey = path.join(dir, 'host_ed25519');
    const clientKey = path.join(dir, 'client_ed25519');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ips-lab-host', '-f', hostKey]);
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ips-lab-client', '-f', clientKey]);
    fs.mkdirSync(path.join(home, '.ssh'), { recursive: true, mode: 0o700 });
    fs.copyFileSync(`${clientKey}.pub`, path.join(home, '.ssh', 'authorized_keys'));
    for (const p of [home, path.join(home, '.ssh'), path.join(home, '.ssh', 'authorized_keys')]) fs.chownSync(p, UID, UID);
    const { stdout: hash } = await run('openssl', ['passwd', '-6', password]);
    const add = (file: string, line: string): void => {
      const text = fs.readFileSync(`/etc/${file}`, 'utf8').split('\n').filter((l) => l && !l.startsWith(`${user}:`));
      fs.writeFileSync(path.join(dir, file), `${[...text, line].join('\n')}\n`, { mode: file === 'shadow' ? 0o640 : 0o644 });
    };
    add('passwd', `${user}:x:${UID}:${UID}:ips lab user:${home}:/bin/sh`);
    add('shadow', `${user}:${hash.trim()}:19000:0:99999:7:::`);
    add('group', `${user}:x:${UID}:`);
    const config = path.join(dir, 'sshd_config');
    fs.writeFileSync(config, [
      `ListenAddress ${host}`,
      `Port ${port}`,
      `HostKey ${hostKey}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      'UsePAM no',
      'PasswordAuthentication yes',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin no',
      `AuthorizedKeysFile ${path.join(home, '.ssh', 'authorized_keys')}`,
      'Subsystem sftp internal-sftp',
      // A brute force of a few parallel tasks is not cut short by the unauthenticated-connection limit.
      'MaxStartups 100:30:200',
      `MaxAuthTries ${maxAuthTries}`,
      'LogLevel ERROR',
      '',
    ].join('\n'));
    // /run/sshd is sshd's privilege-separation directory (the package's service creates it at start).
    // A fixed script; the paths go in as its arguments, never into its text.
    const script = 'mkdir -p -m 0755 /run/sshd && mount --bind "$1" /etc/passwd && mount --bind "$2" /etc/shadow && mount --bind "$3" /etc/group && exec /usr/sbin/sshd -D -e -f "$4"';
    sshd = ns.spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', ...['passwd', 'shadow', 'group'].map((f) => path.join(dir, f)), config]);
    let err = '';
    sshd.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (sshd.exitCode !== null) throw new Error(`sshd exited (${sshd.exitCode}): ${err.slice(-300)}`);
      try {
        const { stdout } = await ns.exec('ssh-keyscan', ['-T', '2', '-p', String(port), host], { timeoutMs: 5000 });
        if (stdout.includes('ssh-ed25519')) break;
        throw new Error('no host key yet');
      } catch {
        if (Date.now() > deadline) throw new Error(`sshd did not answer on ${host}:${port}: ${err.slice(-300)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    return {
      host, port, user, password, dir, home, clientKey, stop,
      clientOptions(opts = {}) {
        const common = ['-F', '/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR'];
        return opts.password
          ? [...common, '-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password']
          : [...common, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', clientKey];
      },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
