/**
 * Fleet figures, against a real Mosquitto on loopback:
 *  1. alerts per second from one sensor (FleetSensor: outbox on disk, QoS 1)
 *     through the broker into the central store (FleetCentral → LogStore),
 *     timed from the first alert handed to the sensor until the last is
 *     committed at the central;
 *  2. a simulated fleet held by one central Node-RED (fleet-central →
 *     sqlite-log in a child process): 50 sensors × 100 devices publishing
 *     device stats every second, plus alerts, as raw MQTT clients in this
 *     process; the central's CPU (from /proc) and RSS over the run, and
 *     whether it kept up (rows stored = rows sent).
 * IPS_BENCH_ALERTS (default 20,000), IPS_BENCH_SENSORS (50), IPS_BENCH_DEVICES
 * (100), IPS_BENCH_SECONDS (30), IPS_BENCH_PART (`sensor` or `fleet`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { FleetSensor } from '../lib/fleet/sensor';
import { FleetCentral } from '../lib/fleet/central';
import { defaultsOf } from '../lib/base/settings';
import { fleetCentralSchema, fleetSensorSchema } from '../lib/fleet/settings';
import { LogStore } from '../lib/store/store';
import { recognise, type IncomingMessage } from '../lib/store/records';
import { closeDb, get, openDb } from '../lib/store/sqlite';
import type { Alert } from '../lib/detect/alert';
import { Mosquitto } from '../tests/support/mosquitto';
import { startChildRuntime } from '../tests/support/red-process';
import { mib } from './support/measure';

const num = (name: string, d: number): number => Number(process.env[name] ?? d);
const ALERTS = num('IPS_BENCH_ALERTS', 20_000);
const SENSORS = num('IPS_BENCH_SENSORS', 50);
const DEVICES = num('IPS_BENCH_DEVICES', 100);
const SECONDS = num('IPS_BENCH_SECONDS', 30);
const PART = process.env.IPS_BENCH_PART;

function alertAt(i: number): Alert {
  return {
    ts: Date.now(), rule: 'scan.vertical', sid: 1000101, signature: 'vertical port scan', category: 'scan', severity: 'medium', action: 'alert',
    src: `10.0.${(i >> 8) & 255}.${i & 255}`, dst: '192.168.1.1', offender: `10.0.${(i >> 8) & 255}.${i & 255}`, proto: 'tcp', sport: 40000, dport: 22,
    count: 30, windowMs: 10_000, threshold: 25, reason: `30 ports in 10 s (threshold 25) #${i}`, detector: 'bench',
  };
}

async function count(file: string, sql: string): Promise<number> {
  if (!fs.existsSync(file)) return 0;
  const db = await openDb(file, true);
  try {
    return (await get<{ n: number }>(db, sql))?.n ?? 0;
  } catch {
    return 0;
  } finally {
    await closeDb(db);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sensorToStore(dir: string): Promise<void> {
  const broker = new Mosquitto({ port: 26_883 });
  await broker.start();
  const file = path.join(dir, 'central.db');
  const store = new LogStore(file, { retentionIntervalMs: 0 });
  await store.start();
  const central = new FleetCentral({ ...defaultsOf(fleetCentralSchema), broker: broker.url, name: 'bench-central' }, undefined, dir, {
    record: (msg) => {
      const r = recognise(msg as IncomingMessage, Date.now());
      if (r.type === 'records') store.add(r.items);
    },
    changed: () => undefined,
    warn: () => undefined,
  });
  central.start();
  const sensor = new FleetSensor({ ...defaultsOf(fleetSensorSchema), broker: broker.url, sensor: 'bench', healthS: 3600 }, undefined, path.join(dir, 'sensor.db'), dir, {
    command: () => undefined, changed: () => undefined, warn: () => undefined, log: () => undefined,
  });
  await sensor.start();
  while (!central.connected || !sensor.status().connected) await sleep(50);
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  for (let i = 0; i < ALERTS; i++) {
    sensor.input({ payload: alertAt(i) });
    if (i % 500 === 499) await sleep(0);
  }
  while ((await count(file, 'SELECT count(*) AS n FROM alerts')) < ALERTS) {
    await store.flush();
    await sleep(100);
  }
  const wall = (Date.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  console.log(`one sensor → Mosquitto → central store: ${ALERTS.toLocaleString('en')} alerts in ${wall.toFixed(2)} s = ${Math.round(ALERTS / wall).toLocaleString('en')} alerts/s ` +
    `(sensor, broker client, central and store in one process: ${((cpu.user + cpu.system) / 1e6).toFixed(2)} CPU-s); duplicates stored: ${ALERTS - (await count(file, 'SELECT count(DISTINCT uid) AS n FROM alerts'))}`);
  await sensor.close();
  await central.close();
  await store.close();
  await broker.dispose();
}

function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ 100
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

async function fleetOnCentral(dir: string): Promise<void> {
  const broker = new Mosquitto({ port: 27_883 });
  await broker.start();
  const file = path.join(dir, 'fleet.db');
  const rt = await startChildRuntime([
    { id: 'tab', type: 'tab', label: 'central' },
    { id: 'fc', type: 'fleet-central', z: 'tab', broker: broker.url, wires: [['log']] },
    { id: 'log', type: 'sqlite-log', z: 'tab', file, wires: [[]] },
  ], []);
  const pid = rt.child.pid!;
  const clients = await Promise.all(Array.from({ length: SENSORS }, (_, s) => mqtt.connectAsync(broker.url, { clientId: `bench-s${s}`, protocolVersion: 5 })));
  await sleep(2000);
  let deviceRows = 0;
  let alerts = 0;
  const cpu0 = cpuSeconds(pid);
  let peak = rssOf(pid);
  const t0 = Date.now();
  for (let tick = 0; tick < SECONDS; tick++) {
    const now = Date.now();
    await Promise.all(clients.map(async (c, s) => {
      const devices = Array.from({ length: DEVICES }, (_, d) => ({ ip: `192.168.${s}.${d + 1}`, mac: `02:00:00:00:${s.toString(16).padStart(2, '0')}:${d.toString(16).padStart(2, '0')}`, rxBytes: tick * 1000, txBytes: tick * 100, rxBps: 1000 + d, txBps: 100 + d, flows: d % 10, lastSeen: now }));
      await c.publishAsync(`ips/s${s}/devices`, JSON.stringify(devices), { qos: 1 });
      // One sensor in five raises an alert a second.
      if (s % 5 === 0) await c.publishAsync(`ips/s${s}/alerts`, JSON.stringify({ ...alertAt(alerts + s), id: `s${s}-${tick}` }), { qos: 1 });
    }));
    deviceRows += SENSORS * DEVICES;
    alerts += Math.ceil(SENSORS / 5);
    peak = Math.max(peak, rssOf(pid));
    const wait = t0 + (tick + 1) * 1000 - Date.now();
    if (wait > 0) await sleep(wait);
  }
  const cpu = cpuSeconds(pid) - cpu0;
  const wall = (Date.now() - t0) / 1000;
  // Kept up? Give it ten seconds to finish, then count.
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && (await count(file, 'SELECT count(*) AS n FROM devices')) < deviceRows) await sleep(250);
  const stored = await count(file, 'SELECT count(*) AS n FROM devices');
  console.log(`central Node-RED, ${SENSORS} sensors × ${DEVICES} devices at 1 s + ${Math.ceil(SENSORS / 5)} alerts/s for ${SECONDS} s: ` +
    `${((cpu / wall) * 100).toFixed(1)} % of a core, RSS peak ${mib(peak)}; device rows ${stored.toLocaleString('en')} of ${deviceRows.toLocaleString('en')}, alerts ${await count(file, 'SELECT count(*) AS n FROM alerts')} of ${alerts}`);
  await Promise.all(clients.map((c) => c.endAsync()));
  await rt.stop();
  await broker.dispose();
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-bench-fleet-'));
  try {
    if (!PART || PART === 'sensor') await sensorToStore(dir);
    if (!PART || PART === 'fleet') await fleetOnCentral(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
