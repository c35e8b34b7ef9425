/**
 * The shipped fleet central flow (flows/fleet-central.json and its Dashboard 2
 * variant) in a real Node-RED with its dashboard installed, against a real
 * Mosquitto on loopback, fed by two sensors (the fleet-sensor engine,
 * lib/fleet/sensor.ts, each with its own SQLite outbox): the flow deploys
 * with every type known and no error; the fleet dashboard's views (what its
 * templates are sent) show both sensors online with their alerts of the last
 * hour, alerts and devices under their sensor's name, the sensor filter
 * narrows the alerts to one sensor, "Block everywhere" reaches both sensors
 * as a decision, and the blocklist's Unblock lifts it on both.
 * (tests/browser/ would click the same in the dashboards.)
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startSensorEngines, type SensorEngine } from '../support/sensor-engines';
import { Mosquitto } from '../support/mosquitto';
import { makeAlert, makeDevice, tempDir } from '../support/store';
import { startChildRuntime, type ChildRuntime, type WatchedMessage } from '../support/red-process';
import { shippedFlow } from '../support/browser';
import { toolMissing } from '../support/netns';
import { until } from '../support/wait';

const SENSORS = ['alpha', 'beta'];
const BLOCKED = '203.0.113.7';

interface SensorRow { sensor: string; state: string; version: string; alertsLastHour: number }
interface AlertRow { key: number; sensor: string; src: string; rule: string }
interface DeviceRow { sensor: string; ip: string; blocked: boolean }
interface BlockRow { ip: string; sensor: string }

const VARIANTS = [
  { file: 'fleet-central' as const, prefix: 'central', module: 'node-red-dashboard', port: 22_883 },
  { file: 'fleet-central-dashboard2' as const, prefix: 'central2', module: '@flowfuse/node-red-dashboard', port: 23_883 },
];

for (const v of VARIANTS) {
  describe(`flows/${v.file}.json with two sensors over Mosquitto`, async () => {
    const skip = await toolMissing('mosquitto');
    const id = (name: string) => `${v.prefix}.${name}`;
    let dir: string;
    let broker: Mosquitto;
    let rt: ChildRuntime;
    let sensors: SensorEngine[] = [];
    /** The last message a view was sent. */
    const last = (name: string): WatchedMessage['msg'] | undefined => rt.inbox(id(name)).at(-1)?.msg;

    before(async () => {
      if (skip) return;
      dir = tempDir('central-flow');
      broker = new Mosquitto({ port: v.port + (process.pid % 1000) });
      await broker.start();
      rt = await startChildRuntime(shippedFlow(v.file), ['sensors', 'alert-log', 'device-list', 'blocklist'].map(id), {
        modules: [v.module],
        env: { ...process.env, IPS_MQTT_URL: broker.url, IPS_DB: path.join(dir, 'central.db') },
        timeoutMs: 60_000,
      });
      sensors = await startSensorEngines(broker.url, dir, SENSORS);
    });
    after(async () => {
      for (const s of sensors) await s.engine.close().catch(() => undefined);
      await rt?.stop();
      await broker?.dispose();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it('deploys with every type known; both sensors, their alerts and their devices reach the dashboard under their names', { skip: skip ?? false }, async () => {
      sensors.forEach((s, k) => {
        for (let i = 0; i <= k; i++) s.engine.input({ payload: makeAlert(i, { ts: Date.now(), src: `10.0.${k + 1}.${i + 1}`, reason: `${s.name} #${i}` }) });
        s.engine.input({ topic: 'devices', payload: [makeDevice(`192.168.${k + 1}.10`, 1000, 100)] });
      });
      // one alert from alpha, two from beta, each in the last hour
      await rt.waitFor(id('sensors'), (m) => {
        const rows = (m.at(-1)?.msg.payload ?? []) as SensorRow[];
        return rows.length === 2 && rows.every((r) => r.alertsLastHour > 0);
      }, 60_000);
      const fleet = last('sensors')!.payload as SensorRow[];
      assert.deepEqual(fleet.map((r) => [r.sensor, r.state, r.alertsLastHour]), [['alpha', 'online', 1], ['beta', 'online', 2]]);
      assert.ok(fleet.every((r) => typeof r.version === 'string' && r.version.length > 0), 'each sensor reports its version');

      await rt.waitFor(id('alert-log'), (m) => ((m.at(-1)?.msg.payload ?? []) as AlertRow[]).length === 3, 30_000);
      const alerts = last('alert-log')!;
      assert.equal(alerts.sensorColumn, true, 'the threat log shows its sensor column');
      assert.deepEqual((alerts.payload as AlertRow[]).map((a) => `${a.sensor} ${a.src}`).sort(), ['alpha 10.0.1.1', 'beta 10.0.2.1', 'beta 10.0.2.2']);

      await rt.waitFor(id('device-list'), (m) => ((m.at(-1)?.msg.payload as { devices?: DeviceRow[] })?.devices ?? []).length === 2, 30_000);
      const devices = (last('device-list')!.payload as { devices: DeviceRow[] }).devices;
      assert.deepEqual(devices.map((d) => `${d.sensor} ${d.ip} ${d.blocked}`), ['alpha 192.168.1.10 false', 'beta 192.168.2.10 false']);
      const bad = rt.log.filter((l) => /missing types|Waiting for missing|\[error\]/.test(l));
      assert.deepEqual([bad, rt.errors], [[], []], rt.diagnostics());
    });

    it('the sensor filter narrows the alerts to that sensor; empty shows every sensor again', { skip: skip ?? false }, async () => {
      const sensorsOf = (m: WatchedMessage[]) => new Set(((m.at(-1)?.msg.payload ?? []) as AlertRow[]).map((a) => a.sensor));
      await rt.inject(id('remember-sensor'), { topic: 'sensor', payload: 'beta' });
      await rt.waitFor(id('alert-log'), (m) => [...sensorsOf(m)].join() === 'beta', 30_000);
      assert.equal((last('alert-log')!.payload as AlertRow[]).length, 2);
      await rt.inject(id('remember-sensor'), { topic: 'sensor', payload: '' });
      await rt.waitFor(id('alert-log'), (m) => sensorsOf(m).size === 2, 30_000);
    });

    it('"Block everywhere" reaches both sensors as a decision; the fleet blocklist shows it on both, and its Unblock lifts it on both', { skip: skip ?? false }, async () => {
      // what the address field and the button send
      await rt.inject(id('remember-ip'), { topic: 'address', payload: BLOCKED });
      await rt.inject(id('block-msg'), { topic: 'block', payload: '' });
      const decided = (action: string) => sensors.every((s) => s.commands.some((c) => c.ip === BLOCKED && c.action === action));
      await until(() => decided('block'), `both sensors get the block decision on ${BLOCKED}`, 30_000);
      const cmd = sensors[1].commands.find((c) => c.ip === BLOCKED)!;
      assert.ok(cmd.action === 'block' && (cmd.durationS ?? 0) > 3000, `blocked for the central's hour: ${JSON.stringify(cmd)}`);

      // each sensor's iptables-block applies it and reports its list
      const now = Date.now();
      for (const s of sensors) s.engine.input({ payload: { blocked: [{ ip: BLOCKED, since: now, expires: now + 3_600_000, reason: 'blocked from the central dashboard', rule: 'manual' }] } });
      await rt.waitFor(id('blocklist'), (m) => ((m.at(-1)?.msg.payload as { blocked?: BlockRow[] })?.blocked ?? []).length > 0 &&
        (m.at(-1)!.msg.payload as { blocked: BlockRow[] }).blocked[0].sensor === 'alpha, beta', 30_000);
      assert.deepEqual((last('blocklist')!.payload as { blocked: BlockRow[] }).blocked.map((b) => b.ip), [BLOCKED]);
      // the Unblock button's message
      await rt.inject(id('central'), { topic: 'unblock', payload: BLOCKED });
      await until(() => decided('unblock'), `both sensors get the unblock of ${BLOCKED}`, 30_000);
    });
  });
}
