/**
 * Saved configs of 0.1.0 are lifted to the current version when a node
 * starts, also after Node-RED's editor has loaded and saved them again
 * (run after `npm run build`: the editor definitions are the built .html);
 * configs saved by this release are left alone. (Each migrated
 * node's own test deploys an old config in Node-RED and checks it behaves.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { currentVersion, migrate, pendingChanges } from '../../../nodes/common/migrations';
import { editorDefinitions } from '../../support/editor';

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

test('a renamed setting never overwrites the new one when that holds a value; a blank new one takes the old value', () => {
  const both = { iptables: true, duration: '60', durationS: '120' };
  assert.deepEqual(migrate('iptables-block', both), { iptables: true, durationS: '120', version: currentVersion('iptables-block') });
  assert.deepEqual(migrate('iptables-block', { duration: '60', durationS: '' }), { durationS: '60', version: currentVersion('iptables-block') });
});

/** What Node-RED's editor keeps of a saved node when it loads a flow: only the properties its `defaults` name (importNodes). */
function throughEditor(type: string, saved: Record<string, unknown>): Record<string, unknown> {
  const def = editorDefinitions().get(type);
  assert.ok(def, `${type} is registered in its .html`);
  return Object.fromEntries(Object.keys(def.defaults).filter((k) => k in saved).map((k) => [k, saved[k]]));
}

test('a 0.1.0 node survives the editor: loaded and deployed again, or opened and closed, it keeps its renamed setting', () => {
  const cases: [string, Record<string, unknown>, string, string][] = [
    ['pcap-in', { id: 'p', type: 'pcap-in', batchDelay: '20', batchSize: '64' }, 'batchDelayMs', '20'],
    ['iptables-block', { id: 'b', type: 'iptables-block', duration: '600' }, 'durationS', '600'],
    ['nfqueue-in', { id: 'q', type: 'nfqueue-in', queue: '3', timeout: '900' }, 'timeoutMs', '900'],
  ];
  for (const [type, saved, renamed, value] of cases) {
    const loaded = throughEditor(type, saved);
    assert.equal(migrate(type, loaded)[renamed], value, `${type}: loaded by the editor and deployed`);
    // the edit dialog shows the new field empty for such a node, and Done saves it so
    assert.equal(migrate(type, { ...loaded, [renamed]: '' })[renamed], value, `${type}: opened in the edit dialog and closed`);
  }
});
