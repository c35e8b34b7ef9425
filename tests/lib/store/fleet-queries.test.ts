/**
 * The fleet view's queries on a store fed by several sensors: the sensor
 * filter, each sensor's devices, the fleet-wide block list (per-sensor
 * block lists that do not unblock each other), the sensors table.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { LogStore } from '../../../lib/store/store';
import { recognise, type IncomingMessage } from '../../../lib/store/records';
import { parseQuery, runQuery } from '../../../lib/store/queries';
import type { Db } from '../../../lib/store/sqlite';
import { makeAlert, makeDevice, tempDir } from '../../support/store';

const NOW = 1_800_000_000_000;
let dir: string;
let store: LogStore;
let db: Db;

function take(msg: IncomingMessage, at = NOW): void {
  const r = recognise(msg, at);
  assert.equal(r.type, 'records');
  if (r.type === 'records') store.add(r.items);
}

async function q(request: Record<string, unknown>) {
  return (await runQuery(db, parseQuery(request, 1000), NOW)).payload as Record<string, unknown>[];
}

before(async () => {
  dir = tempDir('fleetq');
  store = new LogStore(path.join(dir, 'log.db'), { retentionIntervalMs: 0 });
  await store.start();
  take({ payload: [makeAlert(1, { ts: NOW - 1000 }), makeAlert(2, { ts: NOW - 900 })], sensor: 'attic' });
  take({ payload: makeAlert(3, { ts: NOW - 800 }), sensor: 'cellar' });
  take({ payload: makeAlert(4, { ts: NOW - 700 }) });
  take({ topic: 'devices', payload: [makeDevice('192.168.1.10', 100, 10)], sensor: 'attic' }, NOW - 60_000);
  take({ topic: 'devices', payload: [makeDevice('192.168.1.10', 200, 20)], sensor: 'attic' }, NOW - 1000);
  take({ topic: 'devices', payload: [makeDevice('192.168.1.10', 5, 5)], sensor: 'cellar' }, NOW - 1000);
  const entry = (ip: string, expires: number) => ({ ip, since: NOW - 5000, expires, reason: 'scan', rule: 'scan.vertical' });
  // Both sensors block .66; attic also .67 (expired by now); cellar's next list without .66 unblocks it on cellar only.
  take({ payload: { blocked: [entry('10.0.0.66', NOW + 60_000), entry('10.0.0.67', NOW - 1)] }, sensor: 'attic' }, NOW - 5000);
  take({ payload: { blocked: [entry('10.0.0.66', NOW + 60_000)] }, sensor: 'cellar' }, NOW - 5000);
  take({ payload: { blocked: [] }, sensor: 'cellar' }, NOW - 2000);
  take({ topic: 'health', payload: { status: 'online', packets: 5 }, sensor: 'attic' }, NOW - 3000);
  await store.flush();
  db = await store.readConnection();
});

after(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('fleet queries', () => {
  it('recentAlerts filters by sensor; alerts of this box have none', async () => {
    assert.deepEqual((await q({ name: 'recentAlerts', sensor: 'attic' })).map((r) => r.sensor), ['attic', 'attic']);
    assert.deepEqual((await q({ name: 'recentAlerts' })).map((r) => r.sensor), [null, 'cellar', 'attic', 'attic']);
    await assert.rejects(q({ name: 'recentAlerts', sensor: 'a/b' }), /sensor must be a sensor name/);
  });

  it('sensorDevices: each sensor\'s devices as last reported', async () => {
    const rows = await q({ name: 'sensorDevices' });
    assert.deepEqual(rows.map((r) => [r.sensor, r.ip, r.rxBps]), [['attic', '192.168.1.10', 200], ['cellar', '192.168.1.10', 5]]);
    assert.deepEqual((await q({ name: 'sensorDevices', sensor: 'cellar' })).map((r) => r.sensor), ['cellar']);
  });

  it('fleetBlocklist: what is blocked now on each sensor; one sensor\'s unblock leaves the other\'s block', async () => {
    const rows = await q({ name: 'fleetBlocklist' });
    assert.deepEqual(rows.map((r) => [r.sensor, r.ip]), [['attic', '10.0.0.66']]);
    const events = await q({ name: 'blockHistory', ip: '10.0.0.66' });
    assert.deepEqual(events.map((r) => [r.sensor, r.event]), [['cellar', 'unblock'], ['cellar', 'block'], ['attic', 'block']]);
  });

  it('sensors: last health and when it was heard from', async () => {
    const rows = await q({ name: 'sensors' });
    assert.equal(rows.length, 1);
    assert.deepEqual([rows[0].sensor, rows[0].status, rows[0].packets, rows[0].ageS, rows[0].alertsLastHour], ['attic', 'online', 5, 3, 2]);
  });
});
