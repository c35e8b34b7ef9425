/**
 * Fleet sensors without a Node-RED of their own, for the tests of the
 * central flow: the fleet-sensor engine (lib/fleet/sensor.ts) on a real
 * broker, each with its own SQLite outbox in `dir`, the decisions it gets
 * for its iptables-block recorded.
 */
import path from 'node:path';
import { FleetSensor } from '../../lib/fleet/sensor';
import { defaultsOf } from '../../lib/base/settings';
import { fleetSensorSchema } from '../../lib/fleet/settings';
import type { BlockCommand } from '../../lib/net/types';

export interface SensorEngine {
  name: string;
  engine: FleetSensor;
  /** The block commands the fleet's decisions became, in order. */
  commands: BlockCommand[];
}

/** Start one sensor per name on `brokerUrl`, health every second. */
export async function startSensorEngines(brokerUrl: string, dir: string, names: string[]): Promise<SensorEngine[]> {
  const out: SensorEngine[] = [];
  for (const name of names) {
    const commands: BlockCommand[] = [];
    const engine = new FleetSensor({ ...defaultsOf(fleetSensorSchema), broker: brokerUrl, sensor: name, healthS: 1 }, undefined, path.join(dir, `${name}.db`), dir, {
      command: (c) => commands.push(c), changed: () => undefined, warn: () => undefined, log: () => undefined,
    });
    await engine.start();
    out.push({ name, engine, commands });
  }
  return out;
}
