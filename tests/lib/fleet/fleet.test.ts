/**
 * The fleet engines against a real Mosquitto on loopback, in one process:
 * sensors (lib/fleet/sensor.ts, each with its own SQLite outbox) publish,
 * the central (lib/fleet/central.ts) receives, sqlite-log's store keeps it.
 * Three sensors reach the store with their names; the broker stopped under
 * load and restarted loses no alert and stores none twice; the queue bound
 * drops the oldest and says so; decisions are shared, expire, and do not
 * echo; a broker ACL keeps one sensor from writing another's topics.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { FleetSensor, type SensorHost } from '../../../lib/fleet/sensor';
import { FleetCentral } from '../../../lib/fleet/central';
import { defaultsOf } from '../../../lib/base/settings';
import { fleetCentralSchema, fleetSensorSchema, type FleetSensorSettings } from '../../../lib/fleet/settings';
import { LogStore } from '../../../lib/store/store';
import { recognise, type IncomingMessage } from '../../../lib/store/records';
import type { BlockCommand } from '../../../lib/net/types';
import { DecisionBook, parseDecision } from '../../../lib/fleet/decisions';
import { Blocker, blockSchema } from '../../../lib/net/firewall/blocker';
import { Mosquitto } from '../../support/mosquitto';
import { makeAlert, makeDevice, readRows, tempDir } from '../../support/store';
import { until } from '../../support/wait';

let dir: string;
before(() => {
  dir = tempDir('fleet');
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Recorded {
  commands: BlockCommand[];
  warnings: string[];
}

function sensorOn(broker: Mosquitto, name: string, over: Partial<FleetSensorSettings> = {}, password?: string): { sensor: FleetSensor; seen: Recorded } {
  const seen: Recorded = { commands: [], warnings: [] };
  const host: SensorHost = { command: (c) => seen.commands.push(c), changed: () => undefined, warn: (t) => seen.warnings.push(t), log: () => undefined };
  const settings = { ...defaultsOf(fleetSensorSchema), broker: broker.url, sensor: name, healthS: 1, ...over };
  return { sensor: new FleetSensor(settings, password, path.join(dir, `${name}.db`), dir, host), seen };
}

/** A central feeding a LogStore, as the shipped central flow wires fleet-central into sqlite-log. */
async function centralOn(broker: Mosquitto, file: string, name = 'central', user?: { username: string; password: string }): Promise<{ central: FleetCentral; store: LogStore; warnings: string[] }> {
  const store = new LogStore(file, { retentionIntervalMs: 0, flushMs: 50 });
  await store.start();
  const warnings: string[] = [];
  const central = new FleetCentral({ ...defaultsOf(fleetCentralSchema), broker: broker.url, name, username: user?.username ?? '' }, user?.password, dir, {
    record: (msg) => {
      const r = recognise(msg as IncomingMessage, Date.now());
      if (r.type === 'records') store.add(r.items);
    },
    changed: () => undefined,
    warn: (t) => warnings.push(t),
  });
  central.start();
  await until(() => central.connected, 'the central connected');
  return { central, store, warnings };
}

async function count(file: string, sql: string): Promise<number> {
  return Number((await readRows(file, sql))[0].n);
}

describe('fleet over a real Mosquitto', () => {
  it('alerts, device stats and health of three sensors reach the central store with their sensor names', async () => {
    const broker = new Mosquitto({ port: 21_883 + (process.pid % 1000) });
    await broker.start();
    const file = path.join(dir, 'central-3.db');
    const { central, store } = await centralOn(broker, file);
    const sensors = ['attic', 'cellar', 'garden'].map((n) => sensorOn(broker, n).sensor);
    try {
      await Promise.all(sensors.map((s) => s.start()));
      sensors.forEach((s, k) => {
        for (let i = 0; i < 5 + k; i++) s.input({ payload: makeAlert(i, { src: `10.0.${k}.${i + 1}` }) });
        s.input({ topic: 'devices', payload: [makeDevice(`192.168.${k}.10`, 1000 * (k + 1), 10)] });
        s.input({ topic: 'health', payload: { packets: 1000 * (k + 1), drops: k } });
      });
      await until(async () => (await store.flush(), (await count(file, 'SELECT count(*) AS n FROM alerts')) === 5 + 6 + 7), 'every alert stored', 30_000);
      const perSensor = await readRows(file, 'SELECT sensor, count(*) AS n FROM alerts GROUP BY sensor ORDER BY sensor');
      assert.deepEqual(perSensor.map((r) => [r.sensor, r.n]), [['attic', 5], ['cellar', 6], ['garden', 7]]);
      assert.deepEqual((await readRows(file, "SELECT DISTINCT src FROM alerts WHERE sensor = 'cellar' ORDER BY src")).map((r) => r.src), ['10.0.1.1', '10.0.1.2', '10.0.1.3', '10.0.1.4', '10.0.1.5', '10.0.1.6']);
      await until(async () => (await store.flush(), (await count(file, 'SELECT count(*) AS n FROM devices')) >= 3), 'devices stored');
      const devs = await readRows(file, 'SELECT sensor, ip FROM devices GROUP BY sensor, ip ORDER BY sensor');
      assert.deepEqual(devs.map((r) => [r.sensor, r.ip]), [['attic', '192.168.0.10'], ['cellar', '192.168.1.10'], ['garden', '192.168.2.10']]);
      await until(async () => {
        await store.flush();
        const rows = await readRows(file, 'SELECT name, health FROM sensors ORDER BY name');
        return rows.length === 3 && rows.every((r) => (JSON.parse(String(r.health)) as { packets: number }).packets > 0);
      }, 'health of the three sensors');
      const health = (await readRows(file, "SELECT health FROM sensors WHERE name = 'garden'")).map((r) => JSON.parse(String(r.health)) as Record<string, unknown>)[0];
      assert.equal(health.packets, 3000);
      assert.equal(health.drops, 2);
      assert.equal(health.status, 'online');
      assert.match(String(health.version), /^\d+\.\d+\.\d+/);
    } finally {
      await Promise.all(sensors.map((s) => s.close()));
      await central.close();
      await store.close();
      await broker.dispose();
    }
  });

  it('the broker stopped under load and restarted: every alert arrives, each stored once, in the sensor\'s order', async () => {
    const broker = new Mosquitto({ port: 22_883 + (process.pid % 1000) });
    await broker.start();
    const file = path.join(dir, 'central-restart.db');
    const { central, store } = await centralOn(broker, file);
    const { sensor } = sensorOn(broker, 'loaded');
    const TOTAL = 3000;
    try {
      await sensor.start();
      let sent = 0;
      const feed = async (upTo: number) => {
        for (; sent < upTo; sent++) {
          sensor.input({ payload: makeAlert(sent, { reason: `alert #${sent}` }) });
          if (sent % 50 === 0) await new Promise((r) => setImmediate(r));
        }
      };
      await feed(1000);
      await broker.stop();
      // While it is down: more alerts, all kept on disk.
      await feed(2000);
      await until(() => sensor.status().queued >= 1000 && !sensor.status().connected, 'the sensor queueing on disk');
      await broker.start();
      await feed(TOTAL);
      await until(async () => (await store.flush(), (await count(file, 'SELECT count(DISTINCT reason) AS n FROM alerts')) === TOTAL), `all ${TOTAL} alerts stored`, 120_000);
      await until(() => sensor.status().queued === 0, 'the outbox emptied');
      assert.equal(await count(file, 'SELECT count(*) AS n FROM alerts'), TOTAL, 'no alert stored twice');
      assert.equal(await count(file, "SELECT count(*) AS n FROM alerts WHERE sensor = 'loaded' AND uid IS NOT NULL"), TOTAL);
      // Stored in the order the sensor queued them (id order follows the feed).
      const order = (await readRows(file, 'SELECT reason FROM alerts ORDER BY id')).map((r) => Number(String(r.reason).slice(7)));
      assert.deepEqual(order, [...order].sort((a, b) => a - b));
      // The outbox is empty now; what comes next is still sent (its ids never go back to where the sender was).
      sensor.input({ payload: makeAlert(TOTAL, { reason: 'after the queue emptied' }) });
      await until(async () => (await store.flush(), (await count(file, "SELECT count(*) AS n FROM alerts WHERE reason = 'after the queue emptied'")) === 1), 'the alert after the queue emptied');
    } finally {
      await sensor.close();
      await central.close();
      await store.close();
      await broker.dispose();
    }
  });

  it('redelivered alerts (same id) are stored once', async () => {
    const file = path.join(dir, 'dedup.db');
    const store = new LogStore(file, { retentionIntervalMs: 0 });
    await store.start();
    const alert = { ...makeAlert(1), id: 'attic-0001' };
    for (let i = 0; i < 3; i++) {
      const r = recognise({ payload: [alert, { ...makeAlert(2), id: 'attic-0002' }, alert], sensor: 'attic' }, Date.now());
      if (r.type === 'records') store.add(r.items);
      await store.flush();
    }
    assert.equal(await count(file, 'SELECT count(*) AS n FROM alerts'), 2);
    assert.equal(store.getStats().duplicates, 7);
    // The per-minute counts of the chart count each alert once too.
    assert.equal(await count(file, 'SELECT sum(n) AS n FROM alert_minutes'), 2);
    await store.close();
  });

  it('the queue bound: with the broker away, the oldest beyond it are dropped, counted and reported', async () => {
    const broker = new Mosquitto({ port: 23_883 + (process.pid % 1000) });
    const { sensor, seen } = sensorOn(broker, 'small', { queueMax: 100 });
    try {
      await sensor.start(); // the broker is not running: the sensor keeps everything on disk
      for (let i = 0; i < 250; i++) sensor.input({ payload: makeAlert(i) });
      await until(() => sensor.status().dropped === 150, 'the oldest 150 dropped');
      assert.deepEqual([sensor.status().queued, sensor.status().maxRows, sensor.status().connected], [100, 100, false]);
      assert.ok(seen.warnings.some((w) => /queue full \(100 messages/.test(w)), seen.warnings.join('\n'));
      // What is kept is the newest: the broker comes, the central gets alerts 150..249.
      const file = path.join(dir, 'bound.db');
      await broker.start();
      const { central, store } = await centralOn(broker, file);
      await until(async () => (await store.flush(), (await count(file, 'SELECT count(*) AS n FROM alerts')) === 100), 'the kept 100 delivered', 60_000);
      const reasons = (await readRows(file, 'SELECT reason FROM alerts')).map((r) => Number(/#(\d+)/.exec(String(r.reason))?.[1]));
      assert.equal(Math.min(...reasons), 150);
      await central.close();
      await store.close();
    } finally {
      await sensor.close();
      await broker.dispose();
    }
  });

  it('decisions: a block on one sensor reaches the others once, a late sensor gets only live ones, an unblock propagates', async () => {
    const broker = new Mosquitto({ port: 24_883 + (process.pid % 1000) });
    await broker.start();
    const a = sensorOn(broker, 'dec-a');
    const b = sensorOn(broker, 'dec-b');
    let late: ReturnType<typeof sensorOn> | null = null;
    try {
      await a.sensor.start();
      await b.sensor.start();
      await until(() => a.sensor.status().connected && b.sensor.status().connected, 'both connected');
      const now = Date.now();
      const entry = (ip: string, s: number) => ({ ip, since: now, expires: now + s * 1000, reason: 'scan', rule: 'scan.vertical' });
      // a blocks two addresses: one for 2 s, one for 10 min.
      a.sensor.input({ topic: 'blocklist', payload: { blocked: [entry('198.51.100.7', 2), entry('198.51.100.8', 600)] } });
      await until(() => b.seen.commands.length === 2, 'b applies both decisions');
      const [short, long] = [...b.seen.commands].sort((x, y) => (x.durationS ?? 0) - (y.durationS ?? 0));
      assert.deepEqual([short.ip, short.action, long.ip, long.action], ['198.51.100.7', 'block', '198.51.100.8', 'block']);
      assert.ok(long.durationS! > 590 && long.durationS! <= 600, `remaining duration ${long.durationS}`);
      assert.match(long.reason ?? '', /decision of dec-a: scan/);
      // b's iptables-block reports both blocked: b shares nothing back, a applies nothing of its own.
      b.sensor.input({ payload: { blocked: [entry('198.51.100.7', 2), entry('198.51.100.8', 600)] } });
      // A late sensor, after the short block ran out: only the live decision.
      await new Promise((r) => setTimeout(r, 3000));
      late = sensorOn(broker, 'dec-late');
      await late.sensor.start();
      await until(() => late!.seen.commands.length >= 1, 'the late sensor gets the live decision');
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(late.seen.commands.map((c) => c.ip), ['198.51.100.8']);
      // a unblocks .8 before its expiry: every sensor unblocks it.
      a.sensor.input({ payload: { blocked: [] } });
      await until(() => b.seen.commands.some((c) => c.action === 'unblock') && late!.seen.commands.some((c) => c.action === 'unblock'), 'the unblock reaches b and the late sensor');
      assert.deepEqual(b.seen.commands.filter((c) => c.action === 'unblock').map((c) => c.ip), ['198.51.100.8']);
      assert.deepEqual(a.seen.commands, [], 'a never applies its own decisions');
      // Retained state after the unblock: a sensor connecting now gets nothing.
      const last = sensorOn(broker, 'dec-last');
      await last.sensor.start();
      await until(() => last.sensor.status().connected, 'connected');
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(last.seen.commands, []);
      await last.sensor.close();
    } finally {
      await a.sensor.close();
      await b.sensor.close();
      await late?.sensor.close();
      await broker.dispose();
    }
  });

  it('with the README\'s ACL a sensor cannot write another sensor\'s topics; its own arrive', async () => {
    const users = { attic: 'attic-pw', cellar: 'cellar-pw', central: 'central-pw' };
    const acl = fs.readFileSync(path.join(__dirname, '..', '..', '..', '..', 'docs', 'fleet-acl.example'), 'utf8');
    const broker = new Mosquitto({ port: 25_883 + (process.pid % 1000), users, acl });
    await broker.start();
    const file = path.join(dir, 'acl.db');
    const { central, store } = await centralOn(broker, file, 'central', { username: 'central', password: users.central });
    const { sensor } = sensorOn(broker, 'attic', { username: 'attic' }, users.attic);
    const forger = await mqtt.connectAsync(broker.url, { username: 'attic', password: users.attic, protocolVersion: 5, clientId: 'forger' });
    try {
      await sensor.start();
      sensor.input({ payload: makeAlert(1, { reason: 'genuine' }) });
      // attic, logged in as itself, tries to publish as cellar: the broker refuses (MQTT 5 PUBACK "not authorized").
      await assert.rejects(forger.publishAsync('ips/cellar/alerts', JSON.stringify({ ...makeAlert(2, { reason: 'forged' }), id: 'forged' }), { qos: 1 }), /Not authorized|135/i);
      await until(async () => (await store.flush(), (await count(file, 'SELECT count(*) AS n FROM alerts')) >= 1), 'the genuine alert');
      await new Promise((r) => setTimeout(r, 500));
      await store.flush();
      assert.deepEqual((await readRows(file, 'SELECT sensor, reason FROM alerts')).map((r) => [r.sensor, r.reason]), [['attic', 'genuine']]);
      // A wrong password is refused outright.
      await assert.rejects(mqtt.connectAsync(broker.url, { username: 'cellar', password: 'wrong', protocolVersion: 5, reconnectPeriod: 0 }));
    } finally {
      await forger.endAsync();
      await sensor.close();
      await central.close();
      await store.close();
      await broker.dispose();
    }
  });
});

describe('decisions by MAC', () => {
  it("a device blocked by its MAC on one sensor becomes a decision another sensor's iptables-block applies by MAC; malformed MACs are refused", async () => {
    const now = Date.now();
    const MAC = '02:00:00:00:00:88';
    const attic = new DecisionBook('attic');
    const cellar = new DecisionBook('cellar');
    const [pub] = attic.fromBlockList([{ ip: MAC.toUpperCase(), since: now, expires: now + 600_000, reason: 'spoofing', rule: 'flood.syn.mac' }], now);
    assert.equal(pub.topic, `ips/decisions/${MAC}`);
    const cmd = cellar.apply(parseDecision(pub.topic, Buffer.from(pub.payload)), now);
    assert.equal(cmd?.ip, MAC);
    // The command goes to the receiving sensor's iptables-block (dry-run here): the MAC is blocked.
    const logged: string[] = [];
    const blocker = new Blocker({ ...defaultsOf(blockSchema), dryRun: true }, { send: () => undefined, log: (l) => logged.push(l), warn: () => undefined, error: () => undefined }, { addressReader: null });
    const { report, refusals } = await blocker.handle({ payload: cmd });
    assert.deepEqual(refusals, []);
    assert.deepEqual(report?.payload.blocked.map((b) => b.ip), [MAC]);
    assert.match(report?.commands?.[0] ?? '', /^ipset add ips-block-hw 02:00:00:00:00:88 timeout (59\d|600) /);
    await blocker.close();
    // The unblock follows the same way.
    const [unpub] = attic.fromBlockList([], now + 1000);
    assert.deepEqual(cellar.apply(parseDecision(unpub.topic, Buffer.from(unpub.payload)), now + 1000), { ip: MAC, action: 'unblock' });
    for (const bad of ['ff:ff:ff:ff:ff:ff', '02-00-00-00-00-88', '01:00:5e:00:00:01']) {
      assert.match(parseDecision(`ips/decisions/${bad}`, Buffer.alloc(0)).refused ?? '', /does not end in an IP or MAC address/, bad);
    }
  });
});
