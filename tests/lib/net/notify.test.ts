/**
 * push-notify's engine: the collapsing (one message per device and rule per
 * interval, a digest of the repeats) on times given by the test, the events
 * it recognises in the router flow's messages, and the pushes themselves to
 * a local HTTP receiver standing in for ntfy and the Telegram Bot API.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultsOf } from '../../../lib/base/settings';
import type { Alert } from '../../../lib/detect/alert';
import { Collapser, EventSource, Notifier, notifySchema, type NotifyEvent, type NotifySettings } from '../../../lib/net/notify';
import type { PushMessage } from '../../../lib/net/notify-push';
import type { DeviceStats } from '../../../lib/net/types';
import { startPushReceiver, type PushReceiver } from '../../support/push-receiver';

const MIN = 60_000;
const event = (device: string, rule: string, text = `${rule} from ${device}`): NotifyEvent => ({ device, rule, title: `high: ${rule}`, text, severity: 'high' });

function alert(over: Partial<Alert>): Alert {
  return { ts: 0, rule: 'flood.icmp.src', sid: 1000003, signature: 'ICMP echo flood from one source', category: 'flood', severity: 'high', action: 'alert', src: '192.168.1.20',
    dst: '192.168.1.1', offender: '192.168.1.20', proto: 'icmp', count: 600, windowMs: 1000, threshold: 50, reason: '600 ICMP echo requests in 1 s, limit 50', detector: 'flood', ...over };
}

const device = (ip: string, extra: Partial<DeviceStats> = {}): DeviceStats => ({ ip, rxBytes: 0, txBytes: 0, rxBps: 0, txBps: 0, flows: 1, lastSeen: 0, ...extra });

describe('Collapser', () => {
  test('one message per device and rule per interval; other devices and rules are not held back', () => {
    const c = new Collapser(10 * MIN);
    assert.equal(c.offer(event('10.0.0.2', 'flood.icmp.src'), 0)?.title, 'high: flood.icmp.src');
    assert.equal(c.offer(event('10.0.0.2', 'flood.icmp.src'), 1 * MIN), null, 'a repeat within the interval is held');
    assert.equal(c.offer(event('10.0.0.2', 'flood.icmp.src'), 2 * MIN), null);
    assert.ok(c.offer(event('10.0.0.3', 'flood.icmp.src'), 2 * MIN), 'another device');
    assert.ok(c.offer(event('10.0.0.2', 'scan.vertical'), 2 * MIN), 'another rule');
    assert.ok(c.offer(event('10.0.0.2', 'flood.icmp.src'), 10 * MIN), 'the interval after the first message has passed');
  });

  test('the held repeats come as one digest when the interval that held them ends, then nothing until new repeats', () => {
    const c = new Collapser(10 * MIN);
    c.offer(event('10.0.0.2', 'flood.icmp.src'), 0);
    c.offer(event('10.0.0.2', 'flood.icmp.src', 'second'), 1 * MIN);
    c.offer(event('10.0.0.2', 'flood.icmp.src', 'third'), 3 * MIN);
    c.offer(event('10.0.0.4', 'block'), 3 * MIN);
    c.offer(event('10.0.0.4', 'block'), 4 * MIN);
    assert.equal(c.digestDue, 11 * MIN, 'due an interval after the first held repeat');
    assert.equal(c.digest(10 * MIN), null, 'not yet');
    const d = c.digest(11 * MIN)!;
    assert.equal(d.title, '3 more events (repeats)');
    assert.equal(d.digest, true);
    assert.deepEqual(d.text.split('\n'), ['flood.icmp.src 10.0.0.2 ×2: third', 'block 10.0.0.4 ×1: block from 10.0.0.4']);
    assert.equal(c.digest(30 * MIN), null, 'the digest emptied the hold');
    assert.equal(c.digestDue, null);
  });

  test('a digest lists at most 20 pairs and counts the rest', () => {
    const c = new Collapser(MIN);
    for (let i = 0; i < 30; i++) {
      c.offer(event(`10.0.1.${i}`, 'flood.syn.src'), 0);
      c.offer(event(`10.0.1.${i}`, 'flood.syn.src'), 1);
    }
    const lines = c.digest(0, true)!.text.split('\n');
    assert.equal(lines.length, 21);
    assert.equal(lines[20], 'and 10 more devices or rules');
  });
});

describe('EventSource', () => {
  const settings = defaultsOf(notifySchema);

  test('alerts at or above the severity setting, keyed on the offender (else the source)', () => {
    const s = new EventSource(settings);
    assert.deepEqual(s.events('flood.icmp.src', alert({}), undefined), [{ device: '192.168.1.20', rule: 'flood.icmp.src', title: 'high: ICMP echo flood from one source',
      text: '600 ICMP echo requests in 1 s, limit 50', severity: 'high' }]);
    assert.deepEqual(s.events('scan.vertical', alert({ rule: 'scan.vertical', severity: 'medium' }), undefined), [], 'medium is below the default');
    const aggregate = s.events('flood.syn.dst', [alert({ rule: 'flood.syn.dst', offender: undefined, src: '10.9.9.9' })], undefined);
    assert.equal(aggregate[0].device, '10.9.9.9');
    const all = new EventSource({ ...settings, minSeverity: 'low' });
    assert.equal(all.events('x', alert({ severity: 'low' }), undefined).length, 1);
    assert.deepEqual(s.events(undefined, { not: 'an alert' }, undefined), []);
  });

  test('new devices: the first list is what is there; later, each address not seen before, named by hostname, vendor and MAC', () => {
    const s = new EventSource(settings);
    assert.deepEqual(s.events('devices', [device('192.168.1.2'), device('192.168.1.3')], undefined), []);
    const got = s.events('devices', [device('192.168.1.2'), device('192.168.1.9', { vendor: 'Raspberry Pi Trading Ltd', mac: 'dc:a6:32:00:00:01' })], undefined);
    assert.deepEqual(got.map((e) => [e.device, e.rule, e.title, e.text]), [['192.168.1.9', 'device.new', 'new device 192.168.1.9',
      '192.168.1.9 (Raspberry Pi Trading Ltd, dc:a6:32:00:00:01) joined the LAN']]);
    assert.deepEqual(s.events('devices', [device('192.168.1.9')], undefined), [], 'known now');
    const off = new EventSource({ ...settings, newDevices: false });
    off.events('devices', [], undefined);
    assert.deepEqual(off.events('devices', [device('192.168.1.9')], undefined), []);
  });

  test('blocks: each newly blocked address with the reason and duration; extensions and unblocks are not events', () => {
    const s = new EventSource(settings);
    const list = { blocked: [{ ip: '192.168.1.20', since: 0, expires: 1, reason: 'ICMP echo flood from one source', rule: 'flood.icmp.src' }] };
    const results = [{ action: 'block', ip: '192.168.1.20', durationS: 3600, extended: false, offences: 1 }, { action: 'block', ip: '192.168.1.21', durationS: 3600, extended: true, offences: 2 },
      { action: 'unblock', ip: '192.168.1.22' }];
    assert.deepEqual(s.events('blocklist', list, results), [{ device: '192.168.1.20', rule: 'block', title: 'blocked 192.168.1.20',
      text: 'ICMP echo flood from one source (for 3600 s)', severity: 'high' }]);
    assert.deepEqual(s.events('blocklist', list, undefined), [], 'a list without results (the periodic list) changes nothing');
  });
});

describe('Notifier → a local push receiver', () => {
  let rx: PushReceiver;
  before(async () => {
    rx = await startPushReceiver();
  });
  after(() => rx.close());

  const run = (over: Partial<NotifySettings>) => {
    const sent: PushMessage[] = [];
    const errors: Error[] = [];
    const n = new Notifier({ ...defaultsOf(notifySchema), ...over }, { sent: (m) => sent.push(m), error: (e) => errors.push(e) });
    return { n, sent, errors };
  };

  test('ntfy: a POST of the text to the topic URL with title, priority and token; a flood\'s repeats collapse into one digest', async () => {
    rx.requests.length = 0;
    const { n, errors } = run({ service: 'ntfy', url: `${rx.url}/ips-home`, token: 'tk_secret' });
    try {
      for (let i = 0; i < 5; i++) await n.handle('flood.icmp.src', alert({ reason: `flood report ${i}` }));
      await n.handle('flood.icmp.src', alert({ src: '192.168.1.30', offender: '192.168.1.30' }));
      assert.equal(rx.requests.length, 2, 'the first alert of each device, the repeats held');
      const [first, other] = rx.requests;
      assert.equal(first.method, 'POST');
      assert.equal(first.path, '/ips-home');
      assert.equal(first.body, 'flood report 0');
      assert.equal(first.headers.title, 'high: ICMP echo flood from one source');
      assert.equal(first.headers.priority, 'high');
      assert.equal(first.headers.authorization, 'Bearer tk_secret');
      assert.match(other.body, /600 ICMP echo/);
      await n.flush();
      assert.equal(rx.requests.length, 3);
      const digest = rx.requests[2];
      assert.equal(digest.headers.title, '4 more events (repeats)');
      assert.equal(digest.body, 'flood.icmp.src 192.168.1.20 ×4: flood report 4');
      assert.equal(digest.headers.priority, 'default');
      await n.flush();
      assert.equal(rx.requests.length, 3, 'nothing held: no empty digest');
      assert.deepEqual(errors, []);
    } finally {
      n.close();
    }
  });

  test('telegram: sendMessage with the chat id and the title and text; a refusal is an error without the token', async () => {
    rx.requests.length = 0;
    const { n, errors, sent } = run({ service: 'telegram', url: rx.url, token: '123456:ABC-secret', chat: '-1001234' });
    try {
      await n.handle('blocklist', { blocked: [{ ip: '192.168.1.20', since: 0, expires: 0, reason: 'port scan', rule: 'scan.vertical' }] },
        [{ action: 'block', ip: '192.168.1.20', durationS: 0, extended: false, offences: 1 }]);
      assert.equal(rx.requests.length, 1);
      assert.equal(rx.requests[0].path, '/bot123456:ABC-secret/sendMessage');
      assert.deepEqual(JSON.parse(rx.requests[0].body), { chat_id: '-1001234', text: 'blocked 192.168.1.20\nport scan (until unblocked)', disable_web_page_preview: true });
      assert.equal(sent.length, 1);
      rx.status = 401;
      await n.handle('x', alert({ src: '192.168.1.40', offender: '192.168.1.40' }));
      assert.equal(errors.length, 1);
      assert.match(errors[0].message, /^telegram: HTTP 401/);
      assert.doesNotMatch(errors[0].message, /ABC-secret/);
    } finally {
      rx.status = 200;
      n.close();
    }
  });

  test('service off: nothing is pushed, the messages are still reported', async () => {
    rx.requests.length = 0;
    const { n, sent } = run({ service: 'off', url: `${rx.url}/x` });
    try {
      await n.handle('x', alert({}));
      assert.equal(sent.length, 1);
      assert.equal(rx.requests.length, 0);
    } finally {
      n.close();
    }
  });

  test('an unreachable service is an error naming the service', async () => {
    const closed = await startPushReceiver();
    const url = `${closed.url}/gone`;
    await closed.close();
    const { n, errors } = run({ service: 'ntfy', url });
    try {
      await n.handle('x', alert({}));
      assert.equal(errors.length, 1);
      assert.match(errors[0].message, /^ntfy: request failed \(ECONNREFUSED\)/);
    } finally {
      n.close();
    }
  });
});
