/**
 * LogClient (sqlite-log's engine) without Node-RED, on real SQLite files:
 * records in and queries and exports out, relative paths from the base
 * directory, a move to another file at runtime (the old one's waiting rows
 * written first), two clients on one file, and close() releasing the store.
 */
import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { applySettings, defaultsOf } from '../../../lib/base/settings';
import { LogClient, type LogClientEvents } from '../../../lib/store/log-client';
import { openStore, openStores } from '../../../lib/store/registry';
import { sqliteLogSchema, storeOptionsOf, type SqliteLogSettings } from '../../../lib/store/settings';
import { DEFAULT_OPTIONS } from '../../../lib/store/options';
import { makeAlert, makeDevice, readRows, tempDir, waitFor } from '../../support/store';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function base(tag: string): string {
  const d = tempDir(`client-${tag}`);
  dirs.push(d);
  return d;
}

/** Every client a test opens, closed after it even when it fails (a client with a long flush interval would keep the process alive). */
const clients: LogClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

function openClient(settings: SqliteLogSettings, dir: string, events: LogClientEvents): LogClient {
  const client = new LogClient(settings, dir, events);
  clients.push(client);
  return client;
}

const settingsOf = (patch: Record<string, unknown>): SqliteLogSettings =>
  applySettings(sqliteLogSchema, defaultsOf(sqliteLogSchema), { flushMs: 20, retentionS: 0, ...patch });

function recorder(): LogClientEvents & { said: string[] } {
  const said: string[] = [];
  return {
    said,
    error: (m) => void said.push(`error: ${m}`),
    warn: (m) => void said.push(`warn: ${m}`),
    log: (m) => void said.push(`log: ${m}`),
    changed: () => undefined,
  };
}

describe('sqlite-log settings', () => {
  it('default to the store\'s own options', () => {
    assert.deepEqual(storeOptionsOf(defaultsOf(sqliteLogSchema)), {
      flushMs: DEFAULT_OPTIONS.flushMs,
      batchRows: DEFAULT_OPTIONS.batchRows,
      maxPending: DEFAULT_OPTIONS.maxPending,
      retryMs: DEFAULT_OPTIONS.retryMs,
      retentionIntervalMs: DEFAULT_OPTIONS.retentionIntervalMs,
      retention: DEFAULT_OPTIONS.retention,
    });
  });
});

describe('LogClient', () => {
  it('logs records to a file relative to its base directory and answers queries and exports with them', async () => {
    const dir = base('basic');
    const events = recorder();
    const client = openClient(settingsOf({ file: 'ips.db', exportDir: 'out', queryLimit: 2 }), dir, events);
    await client.opened();
    assert.equal(client.file, path.join(dir, 'ips.db'));
    assert.equal(client.handle({ payload: [makeAlert(1), makeAlert(2), makeAlert(3)] }), null, 'records are taken, not answered');
    assert.equal(client.handle({ topic: 'devices', payload: [makeDevice('192.168.1.20', 900, 100)] }), null);
    const recent = await client.handle({ query: { name: 'recentAlerts' } });
    assert.equal(recent?.topic, 'recentAlerts');
    assert.deepEqual((recent?.payload as { sid: number }[]).map((r) => r.sid), [1003, 1002], 'at most queryLimit rows');
    assert.equal(recent?.count, 2);
    await assert.rejects(client.handle({ query: { name: 'recentAlerts', limit: 3 } })!, /limit must be an integer 1..2/);
    fs.mkdirSync(path.join(dir, 'out'));
    const exported = await client.handle({ topic: 'export', payload: { table: 'alerts', format: 'jsonl', from: 0, file: 'a.jsonl' } });
    assert.equal(exported?.topic, 'export');
    assert.equal((exported?.payload as { file: string; rows: number }).file, path.join(dir, 'out', 'a.jsonl'));
    assert.equal((exported?.payload as { rows: number }).rows, 3);
    assert.throws(() => client.handle({ payload: [makeAlert(4), { ...makeAlert(5), severity: 3 }] }), /refused 1 record\(s\), stored 1: payload\[1\]\.severity must be a string/);
    await client.close();
    assert.deepEqual((await readRows(path.join(dir, 'ips.db'), 'SELECT sid FROM alerts ORDER BY id')).map((r) => r.sid), [1001, 1002, 1003, 1004]);
    assert.equal(openStores().has(path.join(dir, 'ips.db')), false, 'the store is closed with its last client');
    assert.deepEqual(events.said, []);
  });

  it('moves to another file at runtime: rows waiting for the old one are written there first; other settings need no move', async () => {
    const dir = base('move');
    const events = recorder();
    const first = settingsOf({ file: 'a.db', flushMs: 600_000 });
    const client = openClient(first, dir, events);
    await client.opened();
    client.handle({ payload: makeAlert(1) });
    const moved = applySettings(sqliteLogSchema, first, { file: 'b.db' });
    await client.configure(moved);
    assert.equal(openStores().has(path.join(dir, 'a.db')), false);
    assert.deepEqual((await readRows(path.join(dir, 'a.db'), 'SELECT sid FROM alerts')).map((r) => r.sid), [1001]);
    client.handle({ payload: makeAlert(2) });
    const store = openStore(path.join(dir, 'b.db'));
    assert.ok(store);
    await client.configure(applySettings(sqliteLogSchema, moved, { queryLimit: 1 }));
    assert.equal(client.file, path.join(dir, 'b.db'));
    assert.equal(openStore(path.join(dir, 'b.db')), store, 'the store was reopened for a setting of the client alone');
    assert.equal(openStores().get(path.join(dir, 'b.db')), 1);
    assert.equal(client.stats.pending, 1, 'the store was released (its waiting row written) for a setting of the client alone');
    const recent = await client.handle({ query: { name: 'recentAlerts' } });
    assert.deepEqual((recent?.payload as { sid: number }[]).map((r) => r.sid), [1002]);
    await client.close();
    assert.deepEqual(events.said, []);
  });

  it('new writer options on the same file apply: the store reopens with them after its last flush', async () => {
    const dir = base('reopen');
    const file = path.join(dir, 'ips.db');
    const slow = settingsOf({ file, flushMs: 600_000 });
    const client = openClient(slow, dir, recorder());
    await client.opened();
    client.handle({ payload: makeAlert(1) });
    await client.configure(applySettings(sqliteLogSchema, slow, { flushMs: 20 }));
    assert.deepEqual((await readRows(file, 'SELECT sid FROM alerts')).map((r) => r.sid), [1001], 'the old store wrote its rows when it closed');
    client.handle({ payload: makeAlert(2) });
    await waitFor('the row written by the 20 ms flush', async () => (await readRows(file, 'SELECT count(*) AS n FROM alerts'))[0].n === 2);
    await client.close();
  });

  it('two clients on one file share its store; the second is told when its writer options do not apply', async () => {
    const dir = base('shared');
    const a = openClient(settingsOf({ file: 'ips.db' }), dir, recorder());
    const events = recorder();
    const b = openClient(settingsOf({ file: 'ips.db', flushMs: 500 }), dir, events);
    assert.equal(openStores().get(path.join(dir, 'ips.db')), 2);
    assert.match(events.said.join('\n'), /^warn: .*ips\.db is already open with other writer\/retention options; the first node's options apply/);
    a.handle({ payload: makeAlert(1) });
    b.handle({ payload: makeAlert(2) });
    await a.close();
    const recent = await b.handle({ query: { name: 'recentAlerts' } });
    assert.equal((recent?.payload as unknown[]).length, 2);
    await b.close();
    assert.equal(openStores().has(path.join(dir, 'ips.db')), false);
  });

  it('reports a database it cannot open in words, keeps the rows, and says so on close when they could not be written', async () => {
    const dir = base('missing');
    const events = recorder();
    const client = openClient(settingsOf({ file: 'nowhere/ips.db', retryMs: 10_000 }), dir, events);
    await client.opened();
    assert.match(events.said.join('\n'), /^error: cannot open database .*directory .*nowhere does not exist .*; 0 rows kept and retried/);
    client.handle({ payload: [makeAlert(1), makeAlert(2)] });
    assert.equal(client.stats.pending, 2);
    assert.ok(client.stats.fault);
    await client.close();
    assert.match(events.said.at(-1) ?? '', /^error: closing: 2 rows could not be written to .*nowhere\/ips\.db: cannot open database/);
  });
});
