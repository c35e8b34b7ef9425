/**
 * sqlite-log in Node-RED (node-red-node-test-helper) on real SQLite files:
 * what a flow author sees — rows stored and queried back, refusals reaching
 * Catch nodes (node.error with the message), two nodes on one file, exports, flush on redeploy, and the
 * error a missing directory gives.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir, makeAlert, makeDevice, readRows, waitFor } from '../support/store';
import { nodeHelper, load, unload, useServerPerFile } from '../support/node-helper';

const helper = nodeHelper<HelperNode>();

interface HelperNode {
  on(event: string, fn: (arg: never) => void): void;
  receive(msg: Record<string, unknown>): void;
}

interface OutMsg {
  topic: string;
  payload: unknown;
  count?: number;
  _msgid: string;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const sqliteNode = require('../../nodes/sqlite-log/sqlite-log');

const dirs: string[] = [];
useServerPerFile();
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

interface Harness {
  out: OutMsg[];
  caught: string[];
  /** Send to a node and wait for its next output or caught error. */
  ask(id: string, msg: Record<string, unknown>): Promise<OutMsg | string>;
}

function nodeConfig(id: string, file: string, extra: Record<string, unknown> = {}) {
  return { id, type: 'sqlite-log', name: `log to ${path.basename(file)}`, file, flushMs: '50', batchRows: '5000', maxPending: '1000', retryMs: '100', retentionS: '0', queryLimit: '500', exportDir: '', wires: [['out']], ...extra };
}

async function deploy(nodes: Record<string, unknown>[]): Promise<Harness> {
  const flow = [...nodes, { id: 'out', type: 'helper' }];
  await load(sqliteNode, flow);
  const h: Harness = {
    out: [],
    caught: [],
    async ask(id, msg) {
      const before = { out: h.out.length, caught: h.caught.length };
      helper.getNode(id).receive(msg);
      await waitFor('an output or a caught error', () => h.out.length > before.out || h.caught.length > before.caught, 10_000);
      return h.out.length > before.out ? h.out[before.out] : h.caught[before.caught];
    },
  };
  helper.getNode('out').on('input', (msg: OutMsg) => h.out.push(msg));
  // done(err) reaches Catch nodes through node.error(err, msg): watch that call.
  for (const n of nodes) {
    helper.getNode(n.id as string).on('call:error', (call: { args: unknown[] }) => {
      const a = call.args[0];
      h.caught.push(a instanceof Error ? a.message : String(a));
    });
  }
  return h;
}

describe('sqlite-log node', () => {
  it('stores alerts and device stats and answers dashboard queries with them', async () => {
    const d = tempDir('node');
    dirs.push(d);
    const file = path.join(d, 'ips.db');
    const h = await deploy([nodeConfig('log', file)]);
    const log = helper.getNode('log');
    log.receive({ topic: 'flood.syn', payload: makeAlert(1, { ts: Date.now() - 1000 }) });
    log.receive({ payload: [makeAlert(2, { ts: Date.now() - 500, rule: 'scan.vertical', category: 'scan' }), makeAlert(3, { ts: Date.now() })] });
    log.receive({ topic: 'devices', payload: [makeDevice('192.168.1.20', 9000, 100), makeDevice('192.168.1.21', 100, 10)] });
    const recent = await h.ask('log', { query: { name: 'recentAlerts', limit: 10 } }) as OutMsg;
    assert.equal(recent.topic, 'recentAlerts');
    assert.deepEqual((recent.payload as { sid: number }[]).map((r) => r.sid), [1003, 1002, 1001]);
    const chart = await h.ask('log', { topic: 'query', payload: { name: 'alertsPerMinute', last: 600_000 } }) as OutMsg;
    const [c] = chart.payload as { series: string[]; data: { y: number }[][] }[];
    assert.deepEqual(c.series, ['flood', 'scan']);
    assert.equal(c.data[0].reduce((n, p) => n + p.y, 0), 2);
    const top = await h.ask('log', { query: { name: 'topTalkers' } }) as OutMsg;
    assert.deepEqual((top.payload as { ip: string }[]).map((r) => r.ip), ['192.168.1.20', '192.168.1.21']);
    assert.deepEqual(h.caught, []);
  });

  it('refuses unknown messages and bad records with the reason, and stores the good records of a batch', async () => {
    const d = tempDir('node-bad');
    dirs.push(d);
    const file = path.join(d, 'ips.db');
    const h = await deploy([nodeConfig('log', file)]);
    assert.match(await h.ask('log', { payload: 'just text' }) as string, /payload is string: expected an Alert/);
    assert.match(await h.ask('log', { payload: { temperature: 21 } }) as string, /unknown shape \(keys: temperature\)/);
    const partial = await h.ask('log', { payload: [makeAlert(1), { ...makeAlert(2), severity: 3 }] }) as string;
    assert.match(partial, /refused 1 record\(s\), stored 1: payload\[1\].severity must be a string/);
    assert.match(await h.ask('log', { query: { name: 'everything' } }) as string, /unknown query "everything"/);
    assert.match(await h.ask('log', { query: { name: 'recentAlerts', limit: 501 } }) as string, /limit must be an integer 1..500/);
    const recent = await h.ask('log', { query: { name: 'recentAlerts' } }) as OutMsg;
    assert.deepEqual((recent.payload as { sid: number }[]).map((r) => r.sid), [1001]);
  });

  it('shares one file between two nodes without lock errors', async () => {
    const d = tempDir('node-shared');
    dirs.push(d);
    const file = path.join(d, 'ips.db');
    const h = await deploy([nodeConfig('a', file), nodeConfig('b', file)]);
    for (let i = 0; i < 200; i++) helper.getNode(i % 2 ? 'a' : 'b').receive({ payload: makeAlert(i, { ts: 1_700_000_000_000 + i }) });
    const res = await h.ask('a', { query: { name: 'recentAlerts', limit: 500 } }) as OutMsg;
    assert.equal((res.payload as unknown[]).length, 200);
    assert.deepEqual(h.caught, []);
  });

  it('exports a time range to CSV in the export directory', async () => {
    const d = tempDir('node-export');
    dirs.push(d);
    const exportDir = path.join(d, 'exports');
    fs.mkdirSync(exportDir);
    const h = await deploy([nodeConfig('log', path.join(d, 'ips.db'), { exportDir })]);
    helper.getNode('log').receive({ payload: [makeAlert(1, { ts: 1000 }), makeAlert(2, { ts: 2000 }), makeAlert(3, { ts: 3000 })] });
    const res = await h.ask('log', { export: { table: 'alerts', format: 'csv', from: 1500, to: 3000, file: 'two.csv' } }) as OutMsg;
    assert.equal(res.topic, 'export');
    assert.deepEqual({ ...(res.payload as object), bytes: 0 }, { file: path.join(exportDir, 'two.csv'), table: 'alerts', format: 'csv', rows: 2, bytes: 0, from: 1500, to: 3000 });
    const lines = fs.readFileSync(path.join(exportDir, 'two.csv'), 'utf8').trimEnd().split('\r\n');
    assert.equal(lines.length, 3);
    assert.match(await h.ask('log', { export: { table: 'alerts', file: '../escape.csv' } }) as string, /plain file name/);
  });

  it('writes waiting rows when the flow is stopped (redeploy)', async () => {
    const d = tempDir('node-close');
    dirs.push(d);
    const file = path.join(d, 'ips.db');
    await deploy([nodeConfig('log', file, { flushMs: '600000' })]);
    helper.getNode('log').receive({ payload: [makeAlert(1), makeAlert(2)] });
    await unload();
    assert.deepEqual((await readRows(file, 'SELECT sid FROM alerts ORDER BY id')).map((r) => r.sid), [1001, 1002]);
  });

  it('says when the directory is missing, and writes the kept rows once it exists', async () => {
    const d = tempDir('node-missing');
    dirs.push(d);
    const file = path.join(d, 'later', 'ips.db');
    const h = await deploy([nodeConfig('log', file)]);
    const errors = h.caught;
    const log = helper.getNode('log');
    log.receive({ payload: makeAlert(1) });
    await waitFor('an error naming the directory', () => errors.some((e) => /directory .*later does not exist/.test(e)));
    fs.mkdirSync(path.dirname(file));
    await waitFor('rows written', async () => fs.existsSync(file) && (await readRows(file, 'SELECT count(*) AS n FROM alerts').catch(() => [{ n: 0 }]))[0].n === 1);
  });

  it('refuses a bad setting at deploy with the reason', async () => {
    const d = tempDir('node-config');
    dirs.push(d);
    const h = await deploy([nodeConfig('log', path.join(d, 'ips.db'), { flushMs: 'soon' })]);
    helper.getNode('log').receive({ payload: makeAlert(1) });
    await waitFor('input refused', () => h.caught.some((e) => /^sqlite-log is not running: invalid settings: flushMs must be a number, got 'soon'/.test(e)));
    assert.deepEqual(h.out, []);
    assert.equal(fs.existsSync(path.join(d, 'ips.db')), false);
  });
});
