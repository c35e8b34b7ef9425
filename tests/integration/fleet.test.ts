/**
 * A fleet of real Node-RED runtimes over a real Mosquitto, in namespaces:
 * three sensors (fleet-sensor + iptables-block, each in its own namespace
 * with its own SQLite file) and a central (fleet-central + sqlite-log) in
 * the hub namespace with the broker. The broker runs with password logins
 * and the ACL of docs/fleet-acl.example; the sensors' passwords go through
 * Node-RED's credentials.
 *
 *   s1 10.78.1.2 ── hub 10.78.1.1   (Mosquitto, central)
 *   s2 10.78.2.2 ── hub 10.78.2.1
 *   s3 10.78.3.2 ── hub 10.78.3.1
 *   atk 10.78.20.2 ── s2 10.78.20.1  (the attacker, behind sensor s2)
 *
 * Alerts and stats of the three sensors reach the central store with their
 * names, also across a broker restart under load (every alert, once); a block
 * decided on s1 stops the attacker's pings to s2 in s2's kernel, and both
 * sensors unblock at the expiry.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Lab, netnsUnavailable, toolMissing, type Netns } from '../support/netns';
import type { FlowNode } from '../support/red-runtime';
import { packageRoot } from '../support/red-runtime';
import { startChildRuntime, type ChildRuntime } from '../support/red-process';
import { Mosquitto } from '../support/mosquitto';
import { makeAlert, makeDevice, readRows } from '../support/store';
import { eventually, until } from '../support/wait';
import type { BlockList } from '../../lib/net/types';

const PORT = 1883;
const ATK = '10.78.20.2';
const S2_ATK_SIDE = '10.78.20.1';
const PASSWORDS: Record<string, string> = { s1: 'pw-s1', s2: 'pw-s2', s3: 'pw-s3', central: 'pw-central' };
const BLOCK_S = 12;

let skip: string | null = null;
let lab: Lab;
let dir: string;
let broker: Mosquitto;
let hub: Netns;
let atk: Netns;
const sensorNs: Netns[] = [];
const sensors: ChildRuntime[] = [];
let central: ChildRuntime;
const centralDb = () => path.join(dir, 'central.db');

/** A sensor's flow: alerts and block lists into fleet-sensor, its decisions into iptables-block, iptables-block's lists back to it. */
function sensorFlow(name: string, k: number): FlowNode[] {
  return [
    { id: 'tab', type: 'tab', label: name },
    {
      id: 'fs', type: 'fleet-sensor', z: 'tab', sensor: name, broker: `mqtt://10.78.${k}.1:${PORT}`, username: name, file: path.join(dir, `${name}.db`),
      healthS: 1, credentials: { password: PASSWORDS[name] }, wires: [['blk']],
    },
    {
      id: 'blk', type: 'iptables-block', z: 'tab', backend: 'ipset', chain: `IPS-BLOCK`, setName: 'ips-block', durationS: 300, protectOwn: true, protectGateway: true,
      clearOnClose: true, dryRun: false, wires: [['fs', 'lists']],
    },
    { id: 'lists', type: 'debug', z: 'tab', active: false, wires: [] },
  ];
}

function centralFlow(): FlowNode[] {
  return [
    { id: 'tab', type: 'tab', label: 'central' },
    { id: 'fc', type: 'fleet-central', z: 'tab', broker: `mqtt://127.0.0.1:${PORT}`, username: 'central', credentials: { password: PASSWORDS.central }, wires: [['log']] },
    { id: 'log', type: 'sqlite-log', z: 'tab', file: centralDb(), flushMs: 100, wires: [['answers']] },
    { id: 'answers', type: 'debug', z: 'tab', active: false, wires: [] },
  ];
}

/** Start with no flow, then deploy the real one: a deploy is how credentials reach Node-RED's credential store. */
async function runtimeIn(ns: Netns, flows: FlowNode[], watch: string[]): Promise<ChildRuntime> {
  const rt = await startChildRuntime([{ id: 'tab', type: 'tab', label: 'empty' }], watch, { ns, settings: { credentialSecret: false } });
  await rt.deploy([...flows, { id: 'probe', type: 'debug', z: 'tab', active: false, wires: [] }]);
  // The deploy resolves before the new flows run: wait until a node of them takes a message.
  await until(() => rt.inject('probe', { payload: 'up' }).then(() => true, () => false), 'the deployed flows running');
  return rt;
}

async function stored(sql: string): Promise<Record<string, unknown>[]> {
  return fs.existsSync(centralDb()) ? readRows(centralDb(), sql) : [];
}

const pings = async (): Promise<boolean> => atk.exec('ping', ['-c', '1', '-W', '1', S2_ATK_SIDE]).then(() => true, () => false);

before(async () => {
  skip = (await netnsUnavailable()) ?? (await toolMissing('mosquitto', 'mosquitto_passwd', 'ipset', 'iptables', 'ping'));
  if (skip) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-fleet-'));
  lab = new Lab();
  hub = await lab.host('hub');
  for (let k = 1; k <= 3; k++) {
    const ns = await lab.host(`s${k}`);
    await lab.link(hub, `10.78.${k}.1/24`, ns, `10.78.${k}.2/24`);
    sensorNs.push(ns);
  }
  atk = await lab.host('atk');
  await lab.link(sensorNs[1], `${S2_ATK_SIDE}/24`, atk, `${ATK}/24`);
  const acl = fs.readFileSync(path.join(packageRoot, 'docs', 'fleet-acl.example'), 'utf8');
  broker = new Mosquitto({ ns: hub, host: '0.0.0.0', port: PORT, users: PASSWORDS, acl });
  await broker.start();
  central = await runtimeIn(hub, centralFlow(), ['answers']);
  for (let k = 1; k <= 3; k++) sensors.push(await runtimeIn(sensorNs[k - 1], sensorFlow(`s${k}`, k), ['lists']));
});

after(async () => {
  if (skip) return;
  for (const rt of [...sensors, central]) await rt?.stop().catch(() => undefined);
  await broker?.dispose();
  await lab?.cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('a fleet of Node-RED sensors and a central over Mosquitto', () => {
  it('alerts, device stats and health of three sensors reach the central store with their names, also across a broker restart under load', async (t) => {
    if (skip) return t.skip(skip);
    const PER = 60;
    const feed = async (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        await Promise.all(sensors.map((rt, k) => rt.inject('fs', { payload: makeAlert(i, { ts: Date.now(), src: `10.0.${k + 1}.${(i % 200) + 1}`, reason: `s${k + 1} #${i}` }) })));
      }
    };
    await Promise.all(sensors.map((rt, k) => rt.inject('fs', { topic: 'devices', payload: [makeDevice(`192.168.${k + 1}.10`, 1000, 100), makeDevice(`192.168.${k + 1}.11`, 10, 1)] })));
    await feed(0, PER / 3);
    await broker.stop();
    await feed(PER / 3, (2 * PER) / 3); // queued on each sensor's disk while the broker is down
    await broker.start();
    await feed((2 * PER) / 3, PER);
    const all = async () => Number((await stored('SELECT count(DISTINCT reason) AS n FROM alerts'))[0]?.n ?? 0) === 3 * PER;
    if (!(await eventually(all, 120_000))) {
      const have = await stored('SELECT sensor, count(*) AS n FROM alerts GROUP BY sensor');
      assert.fail(`not all ${3 * PER} alerts at the central: ${JSON.stringify(have)}\n${central.diagnostics()}\n${sensors.map((s) => s.diagnostics()).join('\n')}`);
    }
    const perSensor = await stored('SELECT sensor, count(*) AS n, count(DISTINCT uid) AS ids FROM alerts GROUP BY sensor ORDER BY sensor');
    assert.deepEqual(perSensor.map((r) => [r.sensor, r.n, r.ids]), [['s1', PER, PER], ['s2', PER, PER], ['s3', PER, PER]]);
    assert.equal(Number((await stored("SELECT count(*) AS n FROM alerts WHERE sensor = 's2' AND reason NOT LIKE 's2 #%'"))[0].n), 0, 'each alert under its own sensor');
    const devices = await stored('SELECT sensor, ip FROM devices GROUP BY sensor, ip ORDER BY sensor, ip');
    assert.deepEqual(devices.map((r) => `${String(r.sensor)} ${String(r.ip)}`), ['s1 192.168.1.10', 's1 192.168.1.11', 's2 192.168.2.10', 's2 192.168.2.11', 's3 192.168.3.10', 's3 192.168.3.11']);
    // The fleet view's data, as the dashboard asks sqlite-log for it.
    await central.inject('log', { topic: 'query', payload: { name: 'sensors' } });
    const answer = await central.waitFor('answers', (m) => m.some((x) => x.msg.topic === 'sensors'));
    const fleet = answer.find((x) => x.msg.topic === 'sensors')!.msg.payload as { sensor: string; status: string; version: string; alertsLastHour: number }[];
    assert.deepEqual(fleet.map((s) => [s.sensor, s.status, s.alertsLastHour]), [['s1', 'online', PER], ['s2', 'online', PER], ['s3', 'online', PER]]);
  });

  it('a block decided on s1 stops the attacker\'s traffic through s2\'s kernel, and both unblock at the expiry', async (t) => {
    if (skip) return t.skip(skip);
    assert.ok(await pings(), 'the attacker reaches s2 before any block');
    // s1's iptables-block blocks the attacker for BLOCK_S seconds (an alert seen by s1).
    await sensors[0].inject('blk', { payload: makeAlert(1, { src: ATK, offender: ATK, reason: 'seen on s1' }), durationS: BLOCK_S });
    const listed = (rt: ChildRuntime, ip: string) => rt.inbox('lists').some((m) => (m.msg.payload as BlockList).blocked?.some((e) => e.ip === ip));
    await until(() => listed(sensors[1], ATK), `s2 applies s1's decision (${sensors[1].diagnostics()})`, 30_000);
    assert.ok(await eventually(async () => !(await pings()), 10_000), 'the attacker\'s pings to s2 are dropped by s2\'s kernel');
    assert.ok(listed(sensors[2], ATK), 's3 applied it too');
    const s2Entry = sensors[1].inbox('lists').map((m) => (m.msg.payload as BlockList).blocked.find((e) => e.ip === ATK)).find(Boolean)!;
    const s1Entry = sensors[0].inbox('lists').map((m) => (m.msg.payload as BlockList).blocked.find((e) => e.ip === ATK)).find(Boolean)!;
    assert.ok(Math.abs(s2Entry.expires - s1Entry.expires) <= 2000, `s2 expires with s1 (${s2Entry.expires - s1Entry.expires} ms apart)`);
    // At the expiry both drop the block, and the attacker reaches s2 again.
    const unlisted = (rt: ChildRuntime) => {
      const last = rt.inbox('lists').at(-1)?.msg.payload as BlockList | undefined;
      return last !== undefined && !last.blocked.some((e) => e.ip === ATK);
    };
    await until(() => unlisted(sensors[0]) && unlisted(sensors[1]), 'both sensors report the block expired', (BLOCK_S + 30) * 1000);
    assert.ok(await eventually(pings, 10_000), 'the attacker reaches s2 after the expiry');
    // The central saw both sensors' blocks and their end (the fleet-wide block history).
    if (!(await eventually(async () => (await stored(`SELECT DISTINCT sensor FROM blocks WHERE ip = '${ATK}' AND event = 'block'`)).length === 3, 15_000))) {
      assert.fail(`blocks at the central: ${JSON.stringify(await stored('SELECT * FROM blocks'))} sensors: ${JSON.stringify(await stored('SELECT * FROM sensors'))}\n${central.diagnostics()}\n${sensors[0].diagnostics()}`);
    }
  });
});
