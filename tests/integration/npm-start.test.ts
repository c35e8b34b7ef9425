/**
 * `npm start` as a user meets it: scripts/start.js (after the build) starts
 * Node-RED on loopback behind a login, with the pack loaded and the first-start
 * flow (a shipped one from flows/, else the pcap-in example) reading the
 * bundled demo capture — visible as the pcap-in node's status
 * in the editor's status feed (the /comms websocket the editor uses).
 * Runs in a temporary user directory (IPS_USER_DIR), never the clone's .node-red/.
 * On the LAN (HOST=0.0.0.0, in a network namespace standing for the router,
 * with two client namespaces): HTTPS with the certificate made at first
 * start, valid for the router's LAN address as curl checks it; plain HTTP
 * refused; a client that keeps guessing passwords is slowed down while
 * another client logs in.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { packageRoot } from '../support/red-runtime';
import { Lab, netnsUnavailable, toolMissing, type Netns } from '../support/netns';
import { freePort } from '../support/ports';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const WebSocket = require('ws') as new (url: string) => {
  on(event: 'open' | 'message' | 'error', fn: (data: Buffer | Error) => void): void;
  send(text: string): void;
  close(): void;
};

const DEMO = path.join(packageRoot, 'examples', 'captures', 'demo.pcap');
const PASSWORD = 'start-test-password';

let skip: string | null = null;
before(() => {
  if (!fs.existsSync(DEMO)) skip = `missing ${DEMO}`;
  try {
    execFileSync('tshark', ['-v'], { stdio: 'ignore' });
  } catch {
    skip = skip ?? 'missing tool: tshark (apt-get install tshark)';
  }
});

async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(-child.pid, 'SIGTERM');
  const t = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  }, 10_000);
  await exited;
  clearTimeout(t);
}

describe('npm start', () => {
  it('serves Node-RED on loopback behind a login, with the demo flow reading the bundled capture', async (t) => {
    if (skip) return t.skip(skip);
    const expected = execFileSync('tshark', ['-n', '-r', DEMO, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' }).trim().split('\n').length;
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-start-'));
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, IPS_USER_DIR: userDir, PORT: String(port), IPS_ADMIN_PASSWORD: PASSWORD };
    for (const name of ['HOST', 'IPS_CAPTURE', 'IPS_DB', 'IPS_RESET_FLOW', 'NODE_OPTIONS']) delete env[name];
    const child = spawn(process.execPath, [path.join(packageRoot, 'scripts', 'start.js')], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
    try {
      const deadline = Date.now() + 60_000;
      while (!output.includes('Server now running')) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`Node-RED did not start:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const base = `http://127.0.0.1:${port}`;

      // Node-RED (start.js's child) runs with the V8 flags for reading captures fast (docs/performance.md).
      const red = fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/)[0];
      const nodeOptions = fs.readFileSync(`/proc/${red}/environ`, 'utf8').split('\0').find((v) => v.startsWith('NODE_OPTIONS=')) ?? '';
      assert.match(nodeOptions, /[= ]--max-semi-space-size=32\b/);
      assert.equal(/[= ]--v8-pool-size=1\b/.test(nodeOptions), os.availableParallelism() <= 2, nodeOptions);

      // Loopback only.
      const listening = execFileSync('ss', ['-ltnH'], { encoding: 'utf8' });
      assert.match(listening, new RegExp(`127\\.0\\.0\\.1:${port}\\b`));
      assert.doesNotMatch(listening, new RegExp(`(0\\.0\\.0\\.0|\\*|\\[::\\]):${port}\\b`));

      // Login required: nothing without a token, a token for the right password only.
      assert.equal((await fetch(`${base}/flows`)).status, 401);
      const login = (password: string): Promise<Response> => fetch(`${base}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: 'node-red-admin', grant_type: 'password', scope: '*', username: 'admin', password }).toString(),
      });
      const refused = (await login('wrong-password')).status;
      assert.ok(refused === 401 || refused === 403, `wrong password refused (HTTP ${refused})`);
      const tokenRes = await login(PASSWORD);
      assert.equal(tokenRes.status, 200);
      const token = ((await tokenRes.json()) as { access_token: string }).access_token;

      // The first-start flow: pcap-in pointed at the bundled capture.
      const flows = (await (await fetch(`${base}/flows`, { headers: { authorization: `Bearer ${token}` } })).json()) as { id: string; type: string; source?: string }[];
      const reader = flows.find((n) => n.type === 'pcap-in' && n.source !== 'live');
      assert.ok(reader, 'a file-mode pcap-in node in the deployed flow');

      // What the editor shows: the pcap-in status after reading the whole capture.
      const text = await new Promise<string>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/comms`);
        const t = setTimeout(() => { ws.close(); reject(new Error('no pcap-in "done" status within 30 s')); }, 30_000);
        ws.on('error', (err) => { clearTimeout(t); reject(err as Error); });
        ws.on('open', () => ws.send(JSON.stringify({ auth: token })));
        ws.on('message', (data) => {
          const parsed = JSON.parse(data.toString()) as { auth?: string } | { topic: string; data: { text?: string } }[];
          if (!Array.isArray(parsed)) {
            if (parsed.auth === 'ok') ws.send(JSON.stringify({ subscribe: 'status/#' }));
            return;
          }
          for (const m of parsed) {
            if (m.topic === `status/${reader.id}` && m.data?.text?.startsWith('done:')) {
              clearTimeout(t);
              ws.close();
              resolve(m.data.text);
            }
          }
        });
      });
      assert.match(text, new RegExp(`^done: ${expected} pkts in `));
    } finally {
      await stopGroup(child);
      fs.rmSync(userDir, { recursive: true, force: true });
    }
  });
});

/** curl in a client namespace: [HTTP status, Retry-After] (status 0 when curl could not talk HTTP at all). */
async function curl(ns: Netns, args: string[]): Promise<[number, string]> {
  try {
    const { stdout } = await ns.exec('curl', ['-sS', '-o', '/dev/null', '-D', '-', '-w', '\n%{http_code}', '--max-time', '20', ...args], { timeoutMs: 30_000 });
    const lines = stdout.trim().split(/\r?\n/);
    const retry = /^retry-after:\s*(\d+)/im.exec(stdout);
    return [Number(lines[lines.length - 1]), retry ? retry[1] : ''];
  } catch {
    return [0, ''];
  }
}

describe('npm start on the LAN', () => {
  it('serves HTTPS with a certificate for its LAN address, refuses plain HTTP, and slows down a client guessing passwords', async (t) => {
    const why = (await netnsUnavailable()) ?? (await toolMissing('curl', 'openssl'));
    if (why) return t.skip(why);
    const lab = new Lab();
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-start-lan-'));
    try {
      const router = await lab.host('rtr');
      const phone = await lab.host('phone');
      const laptop = await lab.host('laptop');
      await lab.link(router, '10.231.61.1/24', phone, '10.231.61.2/24');
      await lab.link(router, '10.231.62.1/24', laptop, '10.231.62.2/24');
      const env: NodeJS.ProcessEnv = { ...process.env, IPS_USER_DIR: userDir, HOST: '0.0.0.0', PORT: '1880', IPS_ADMIN_PASSWORD: PASSWORD };
      for (const name of ['IPS_CAPTURE', 'IPS_DB', 'IPS_RESET_FLOW', 'IPS_HTTPS', 'IPS_TLS_CERT', 'IPS_TLS_KEY']) delete env[name];
      const child = router.spawn(process.execPath, [path.join(packageRoot, 'scripts', 'start.js')], { env });
      let output = '';
      child.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
      child.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
      const deadline = Date.now() + 60_000;
      while (!output.includes('Server now running')) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`Node-RED did not start:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const cert = path.join(userDir, 'tls', 'cert.pem');
      assert.ok(fs.existsSync(cert), 'a certificate made at first start');
      assert.match(output, /Node-RED on https:\/\//);
      const fingerprint = /fingerprint[^:]*: ([0-9A-F:]{95})/.exec(output);
      assert.ok(fingerprint, 'the fingerprint is printed for the user to compare');
      const base = 'https://10.231.61.1:1880';
      const tls = ['--cacert', cert];

      // HTTPS that verifies against the generated certificate for the LAN address; nothing without login.
      assert.deepEqual(await curl(phone, [...tls, `${base}/flows`]), [401, '']);
      assert.deepEqual(await curl(phone, [...tls, `${base}/ips-no-such-page`]), [401, '']);
      // Plain HTTP gets no page.
      assert.equal((await curl(phone, ['http://10.231.61.1:1880/flows']))[0], 0, 'plain HTTP is refused');

      // The phone guesses: five wrong passwords are answered as such, then it must wait, longer each time.
      const login = (ns: Netns, address: string, password: string): Promise<[number, string]> => curl(ns, [...tls, '-X', 'POST',
        '--data-urlencode', 'client_id=node-red-admin', '--data-urlencode', 'grant_type=password', '--data-urlencode', 'scope=*',
        '--data-urlencode', 'username=admin', '--data-urlencode', `password=${password}`, `https://${address}:1880/auth/token`]);
      for (let i = 1; i <= 5; i++) {
        const [status] = await login(phone, '10.231.61.1', `guess-${i}`);
        assert.ok(status === 401 || status === 403, `guess ${i} refused as a wrong password (HTTP ${status})`);
      }
      // From the sixth on, each wrong guess locks the phone out for longer (1 s, 2 s, 4 s ...):
      // it is told to wait (429, Retry-After), and its guesses during a lock are not even checked.
      let retry = 0;
      for (let i = 6; i <= 30 && retry < 4; i++) {
        const [status, after] = await login(phone, '10.231.61.1', `guess-${i}`);
        if (status === 429) {
          retry = Number(after);
          await new Promise((r) => setTimeout(r, retry * 1000));
        } else {
          assert.ok(status === 401 || status === 403, `guess ${i}: HTTP ${status}`);
        }
      }
      assert.ok(retry >= 4, `the lock grew to ${retry} s`);
      // That lock has passed: one more wrong guess is checked, and locks for at least 8 s ...
      const [again] = await login(phone, '10.231.61.1', 'guess-again');
      assert.ok(again === 401 || again === 403, `guess after the lock: HTTP ${again}`);
      // ... during which even the right password waits.
      const [locked, wait] = await login(phone, '10.231.61.1', PASSWORD);
      assert.equal(locked, 429);
      assert.ok(Number(wait) >= 1, `Retry-After ${wait}`);
      // The laptop is another client: not slowed down.
      assert.equal((await login(laptop, '10.231.62.1', PASSWORD))[0], 200);
      // The dashboard and HTTP endpoints' login (basic auth) is slowed down the same way, per client.
      const basic = (ns: Netns, address: string, password: string): Promise<[number, string]> => curl(ns, [...tls, '-u', `admin:${password}`, `https://${address}:1880/ips-no-such-page`]);
      for (let i = 1; i <= 6; i++) assert.equal((await basic(laptop, '10.231.62.1', `guess-${i}`))[0], 401);
      assert.equal((await basic(laptop, '10.231.62.1', PASSWORD))[0], 429);
      // After the wait, the right password gets in.
      await new Promise((r) => setTimeout(r, (Number(wait) + 1) * 1000));
      assert.equal((await login(phone, '10.231.61.1', PASSWORD))[0], 200);
    } finally {
      await lab.cleanup();
      fs.rmSync(userDir, { recursive: true, force: true });
    }
  });
});
