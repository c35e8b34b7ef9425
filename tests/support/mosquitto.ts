/**
 * A real Mosquitto broker for tests: its own generated configuration in a
 * temporary directory (a listener on loopback or on a namespace's address,
 * persistence so queued messages survive a restart, optional password file
 * and ACL file), started as a child process (inside a namespace when given)
 * and stopped with SIGTERM. stop() then start() is a broker restart.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import type { Netns } from './netns';

export interface BrokerOptions {
  /** Listen address and port; default 127.0.0.1 and a port derived from the pid. */
  host?: string;
  port?: number;
  /** Run inside this namespace. */
  ns?: Netns;
  /** user → password: a password file, anonymous clients refused. */
  users?: Record<string, string>;
  /** The ACL file's text (mosquitto's acl_file). */
  acl?: string;
}

export class Mosquitto {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-mqtt-'));
  readonly host: string;
  readonly port: number;
  private child: ChildProcess | null = null;
  readonly log: string[] = [];

  constructor(private readonly opts: BrokerOptions = {}) {
    this.host = opts.host ?? '127.0.0.1';
    this.port = opts.port ?? 20_000 + (process.pid % 20_000);
    const conf = [
      `listener ${this.port} ${this.host}`,
      'persistence true',
      `persistence_location ${this.dir}/`,
      'autosave_interval 1',
      'user root',
      'log_dest stderr',
      'log_type error', 'log_type warning', 'log_type notice', 'log_type information',
      'max_queued_messages 1000000',
    ];
    if (opts.users) {
      const pw = path.join(this.dir, 'passwd');
      fs.writeFileSync(pw, '');
      for (const [user, pass] of Object.entries(opts.users)) execFileSync('mosquitto_passwd', ['-b', pw, user, pass]);
      conf.push('allow_anonymous false', `password_file ${pw}`);
    } else conf.push('allow_anonymous true');
    if (opts.acl !== undefined) {
      fs.writeFileSync(path.join(this.dir, 'acl'), opts.acl);
      conf.push(`acl_file ${path.join(this.dir, 'acl')}`);
    }
    fs.writeFileSync(path.join(this.dir, 'mosquitto.conf'), `${conf.join('\n')}\n`);
  }

  get url(): string {
    return `mqtt://${this.host}:${this.port}`;
  }

  /** Start and resolve once it listens. */
  async start(): Promise<void> {
    const args = ['-c', path.join(this.dir, 'mosquitto.conf')];
    const child = this.opts.ns ? this.opts.ns.spawn('mosquitto', args) : spawn('mosquitto', args, { stdio: 'pipe' });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        for (const line of d.toString().split('\n')) if (line) this.log.push(line);
        if (/running/.test(d.toString())) resolve();
      };
      child.stderr?.on('data', onData);
      child.stdout?.on('data', onData);
      child.once('exit', (code) => reject(new Error(`mosquitto exited (${code}): ${this.log.slice(-5).join(' | ')}`)));
    });
  }

  /** SIGTERM (it saves its persistence file) and wait for the exit. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }

  async dispose(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
