import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applySettings, defaultsOf, settingsFromConfig, SettingsError, type Schema } from '../../../lib/base/settings';
import { interfaceField } from '../../../lib/base/ifname';

interface S { rate: number; on: boolean; mode: string; allow: string[]; ports: number[] }
const doc = { label: 'x', help: 'y' };
const schema: Schema<S> = {
  rate: { type: 'int', min: 1, max: 1000, default: 50, ...doc },
  on: { type: 'bool', default: true, ...doc },
  mode: { type: 'enum', values: ['alert', 'drop'], default: 'alert', ...doc },
  allow: { type: 'cidrs', default: [], ...doc },
  ports: { type: 'ports', default: [22], ...doc },
};
const defaults: S = defaultsOf(schema);

test('a valid partial change applies; values from the editor are coerced', () => {
  const next = applySettings(schema, defaults, { rate: '75', on: 'false', allow: '10.0.0.0/8, fd00::/8', ports: '22 23,2222' });
  assert.deepEqual(next, { rate: 75, on: false, mode: 'alert', allow: ['10.0.0.0/8', 'fd00::/8'], ports: [22, 23, 2222] });
  assert.equal(defaults.rate, 50);
});

test('any invalid field refuses the whole change, naming each field', () => {
  const err = (() => {
    try {
      applySettings(schema, defaults, { rate: 5000, mode: 'block', allow: '10.0.0.0/33', ports: '70000', bogus: 1 });
    } catch (e) {
      return e as SettingsError;
    }
    return null;
  })();
  assert.ok(err instanceof SettingsError);
  assert.match(err.message, /rate must be <= 1000/);
  assert.match(err.message, /mode must be one of alert, drop/);
  assert.match(err.message, /allow: .*prefix length/);
  assert.match(err.message, /ports: .*not a port/);
  assert.match(err.message, /unknown setting 'bogus'/);
  assert.throws(() => applySettings(schema, defaults, 'rate=5'), /must be an object/);
  assert.throws(() => applySettings(schema, defaults, { rate: 2.5 }), /whole number/);
});

test('editor config: unrelated keys ignored, empty fields keep defaults', () => {
  const s = settingsFromConfig(schema, { id: 'n1', type: 'x', wires: [], rate: '', mode: 'drop', allow: '' });
  assert.deepEqual(s, { ...defaults, mode: 'drop' });
});

test('text fields: a pattern refused in the field\'s own words; blank keeps the default unless blank is a value', () => {
  interface T { iface: string; file: string; note: string }
  const text: Schema<T> = {
    iface: interfaceField('LAN', 'the LAN interface'),
    file: { type: 'string', pattern: '/.*', patternError: 'is not an absolute path', keepBlank: true, default: '/var/x', ...doc },
    note: { type: 'string', pattern: '[a-z]+', default: 'hello', label: 'x', help: 'lower-case letters' },
  };
  assert.throws(() => applySettings(text, defaultsOf(text), { iface: 'eth0; reboot', file: 'rel', note: 'A' }),
    /iface: 'eth0; reboot' is an invalid interface name .*; file: 'rel' is not an absolute path; note: 'A' is not allowed here \(lower-case letters\)/);
  assert.deepEqual(settingsFromConfig(text, { iface: '', file: '', note: '' }), { iface: '', file: '', note: 'hello' });
  assert.deepEqual(settingsFromConfig(text, {}), { iface: '', file: '/var/x', note: 'hello' });
});

test('a required number: blank text is refused, not read as the default', () => {
  const queueSchema: Schema<{ queue: number }> = { queue: { type: 'int', min: 0, max: 65535, required: true, default: 0, ...doc } };
  assert.deepEqual(settingsFromConfig(queueSchema, { queue: '7' }), { queue: 7 });
  assert.throws(() => settingsFromConfig(queueSchema, { queue: ' ' }), /queue must be a number, got ' '/);
  assert.deepEqual(settingsFromConfig(queueSchema, {}), { queue: 0 }, 'a config without the field (older release) gets the default');
});
