/**
 * fleet-sensor as the shipped router flow has it (flows/router-ips.json: its
 * node, configured from the tab's environment) in a real Node-RED, with a
 * real Mosquitto on loopback: off by default (no connection to the broker,
 * no queue file, what reaches it let go); with IPS_FLEET=true the same node
 * connects as its sensor and queues in IPS_FLEET_QUEUE.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startRuntime, type FlowNode, type Runtime } from '../support/red-runtime';
import { shippedFlow } from '../support/browser';
import { Mosquitto } from '../support/mosquitto';
import { makeAlert, tempDir } from '../support/store';
import { toolMissing } from '../support/netns';
import { until } from '../support/wait';

/** The router flow's tab and its fleet-sensor alone, wired to nothing (the rest needs a router). */
function sensorFlow(): FlowNode[] {
  const flow = shippedFlow('router-ips');
  const sensor = flow.find((n) => n.type === 'fleet-sensor');
  assert.ok(sensor, 'the router flow has a fleet-sensor');
  assert.equal(sensor.enabled, '${FLEET}');
  return [flow.find((n) => n.type === 'tab')!, { ...sensor, wires: [[]] }];
}

const ENV = ['IPS_FLEET', 'IPS_MQTT_URL', 'IPS_SENSOR', 'IPS_FLEET_QUEUE'];

describe('fleet-sensor in the router flow', async () => {
  const skip = await toolMissing('mosquitto');
  let rt: Runtime | null = null;
  let broker: Mosquitto | null = null;
  const dir = tempDir('fleet-sensor');
  const queue = path.join(dir, 'queue.db');
  const saved = Object.fromEntries(ENV.map((k) => [k, process.env[k]]));
  after(async () => {
    await rt?.stop();
    await broker?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
    for (const k of ENV) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });
  const connected = () => broker!.log.some((l) => /New client connected.* as ips-sensor-pi\b/.test(l));

  it('is off by default: no connection to the broker, no queue file, alerts let go; IPS_FLEET=true connects it as its sensor', { skip: skip ?? false }, async () => {
    broker = new Mosquitto({ port: 26_883 + (process.pid % 1000) });
    await broker.start();
    for (const k of ENV) delete process.env[k];
    Object.assign(process.env, { IPS_MQTT_URL: broker.url, IPS_SENSOR: 'pi', IPS_FLEET_QUEUE: queue });
    rt = await startRuntime(sensorFlow());
    type SensorNode = { receive(msg: object): void };
    const node = () => rt!.RED.nodes.getNode('router.fleet') as unknown as SensorNode | null;
    /** Deploy again and wait for the new node (a deploy resolves before its flows run). */
    const redeploy = async (): Promise<SensorNode> => {
      const before = node();
      await rt!.deploy(sensorFlow());
      await until(() => node() !== null && node() !== before, 'the redeployed fleet-sensor');
      return node()!;
    };
    node()!.receive({ payload: makeAlert(1) });
    await redeploy(); // the first node has closed: anything it would have done is done
    assert.equal(connected(), false, broker.log.join('\n'));
    assert.equal(fs.existsSync(queue), false, 'no queue file');

    process.env.IPS_FLEET = 'true';
    const on = await redeploy();
    await until(connected, 'the sensor connected as ips-sensor-pi', 20_000);
    on.receive({ payload: makeAlert(2) });
    await until(() => fs.existsSync(queue), 'its queue file', 10_000);
  });
});
