/**
 * Saved configs of 0.1.0 are lifted to the current version when a node
 * starts; configs saved by this release are left alone. (Each migrated
 * node's own test deploys an old config in Node-RED and checks it behaves.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { currentVersion, migrate, pendingChanges } from '../../../nodes/common/migrations';

test('a 0.1.0 config (no version) gets the renamed setting and the current version', () => {
  const old = { id: 'n1', type: 'pcap-in', batchDelay: '20', batchSize: '64' };
  const lifted = migrate('pcap-in', old);
  assert.deepEqual(lifted, { id: 'n1', type: 'pcap-in', batchDelayMs: '20', batchSize: '64', version: currentVersion('pcap-in') });
  assert.equal(old.batchDelay, '20', 'the saved config itself is not changed');
  assert.deepEqual(pendingChanges('pcap-in', 0), ['batchDelay is now batchDelayMs']);
});

test('a config of the current version, or of a type with no migrations, is returned as it is', () => {
  const current = { id: 'n2', type: 'pcap-in', version: currentVersion('pcap-in'), batchDelayMs: '50' };
  assert.equal(migrate('pcap-in', current), current);
  const flood = { id: 'n3', type: 'flood-detect', synSrc: '100' };
  assert.equal(migrate('flood-detect', flood), flood);
  assert.equal(currentVersion('flood-detect'), 0);
});

test('a renamed setting never overwrites the new one when both are present', () => {
  const both = { iptables: true, duration: '60', durationS: '120' };
  assert.deepEqual(migrate('iptables-block', both), { iptables: true, durationS: '120', version: currentVersion('iptables-block') });
});
