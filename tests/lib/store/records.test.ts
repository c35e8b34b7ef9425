/** How sqlite-log reads a message: by topic, then by shape; bad records refused with where and why. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { recognise, TABLES, type LogItem } from '../../../lib/store/records';
import { makeAlert, makeDevice } from '../../support/store';

function kinds(items: LogItem[]): string[] {
  return items.map((i) => i.kind);
}

describe('recognise', () => {
  it('routes queries and exports by topic or property', () => {
    assert.deepEqual(recognise({ topic: 'query', payload: { name: 'topTalkers' } }, 0), { type: 'query', request: { name: 'topTalkers' } });
    assert.deepEqual(recognise({ query: { name: 'recentAlerts' }, payload: 'ignored' }, 0), { type: 'query', request: { name: 'recentAlerts' } });
    assert.deepEqual(recognise({ export: { table: 'alerts' } }, 0), { type: 'export', request: { table: 'alerts' } });
    assert.deepEqual(recognise({ topic: 'export', payload: { table: 'flows' } }, 0), { type: 'export', request: { table: 'flows' } });
  });

  it('reads alerts, device stats, flows and block lists', () => {
    const now = 1234;
    const one = recognise({ topic: 'flood.syn', payload: makeAlert(1) }, now);
    assert.equal(one.type, 'records');
    if (one.type !== 'records') return;
    assert.deepEqual(kinds(one.items), ['alert']);
    const values = (one.items[0] as { values: unknown[] }).values;
    assert.equal(values.length, TABLES.alert.columns.length);
    assert.equal(values[TABLES.alert.columns.indexOf('logged')], now);
    assert.equal(values[TABLES.alert.columns.indexOf('src')], makeAlert(1).src);

    const devices = recognise({ topic: 'devices', payload: [makeDevice('10.0.0.1', 1, 2), makeDevice('10.0.0.2', 3, 4)] }, now);
    assert.deepEqual(devices.type === 'records' && kinds(devices.items), ['device', 'device']);
    const flow = { proto: 'udp', src: '10.0.0.1', dst: '10.0.0.2', origBytes: 1, replyBytes: 2, start: 5 };
    const flows = recognise({ topic: 'flows', payload: flow }, now);
    assert.deepEqual(flows.type === 'records' && kinds(flows.items), ['flow']);
    const blocks = recognise({ payload: { blocked: [{ ip: '10.0.0.9', since: 1, expires: 0, reason: 'r', rule: 'x' }] } }, now);
    assert.deepEqual(blocks.type === 'records' && blocks.items, [{ kind: 'blocklist', ts: now, entries: [{ ip: '10.0.0.9', since: 1, expires: 0, reason: 'r', rule: 'x' }], sensor: null }]);
    // Without a topic, array elements are read by shape, mixed kinds included.
    const mixed = recognise({ payload: [makeAlert(2), makeDevice('10.0.0.3', 1, 1), flow] }, now);
    assert.deepEqual(mixed.type === 'records' && kinds(mixed.items), ['alert', 'device', 'flow']);
  });

  it('refuses unknown shapes with the reason', () => {
    assert.throws(() => recognise({ payload: 'hello' }, 0), /payload is string: expected an Alert/);
    assert.throws(() => recognise({ payload: { foo: 1, bar: 2 } }, 0), /unknown shape \(keys: foo, bar\)/);
    assert.throws(() => recognise({}, 0), /msg.payload is missing/);
    assert.throws(() => recognise({ topic: 'devices', payload: { ip: '10.0.0.1' } }, 0), /needs msg.payload to be an array/);
    assert.throws(() => recognise({ payload: { blocked: 'all' } }, 0), /payload.blocked must be an array/);
  });

  it('stores the good records of a batch and refuses the bad ones by index', () => {
    const bad = { ...makeAlert(3), ts: 'yesterday' };
    const noRule = { ...makeAlert(4), rule: '' };
    const r = recognise({ payload: [makeAlert(1), bad, makeAlert(2), noRule, 42] }, 0);
    assert.equal(r.type, 'records');
    if (r.type !== 'records') return;
    assert.equal(r.items.length, 2);
    assert.equal(r.refused.length, 3);
    assert.equal(r.refused[0], 'payload[1].ts must be a finite number, got "yesterday"');
    assert.equal(r.refused[1], 'payload[3].rule must not be empty');
    assert.match(r.refused[2], /^payload\[4\] is number: expected an Alert/);
    const dev = recognise({ topic: 'devices', payload: [makeDevice('10.0.0.1', 1, 1), { ip: '10.0.0.2', rxBps: 'fast', txBps: 1 }] }, 0);
    assert.deepEqual(dev.type === 'records' && dev.refused, ['payload[1].rxBps must be a finite number, got "fast"']);
  });
});
