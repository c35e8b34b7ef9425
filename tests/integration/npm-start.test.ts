/**
 * `npm start` as a user meets it: scripts/start.js (after the build) starts
 * Node-RED on loopback behind a login, with the pack loaded and the first-start
 * flow (a shipped one from flows/, else the pcap-in example) reading the
 * bundled demo capture — visible as the pcap-in node's status
 * in the editor's status feed (the /comms websocket the editor uses).
 * Runs in a temporary user directory (IPS_USER_DIR), never the clone's .node-red/.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { packageRoot } from '../support/red-runtime';

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

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

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
    for (const name of ['HOST', 'IPS_CAPTURE', 'IPS_DB', 'IPS_RESET_FLOW']) delete env[name];
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
