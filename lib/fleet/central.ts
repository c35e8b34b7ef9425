/**
 * fleet-central's engine: the central Node-RED's side of the fleet. It
 * subscribes to every sensor's topics (`ips/+/+`, QoS 1, a persistent
 * session, so the broker keeps what arrives while the central is down) and
 * turns each message into what sqlite-log stores, with `msg.sensor` taken
 * from the topic, never from the payload: with the broker's ACL (`ips/%u/#`)
 * a sensor can only speak for itself. Alerts keep the id their sensor gave
 * them, so sqlite-log stores a redelivered alert once. Blocks and unblocks
 * from the central dashboard are published as shared decisions (origin
 * 'central').
 */
import mqtt, { type MqttClient } from 'mqtt';
import { SENSOR_NAME } from '../store/records';
import type { FleetCentralSettings } from './settings';
import { decisionAddress, decisionOptions, publishBlock, publishUnblock, type DecisionPublish } from './decisions';
import { clientOptions, SENSOR_TOPICS, TOPICS, type SensorTopic } from './link';

/** A message for sqlite-log. */
export interface CentralRecord {
  topic?: string;
  payload: unknown;
  sensor: string;
}

export interface CentralHost {
  record(msg: CentralRecord): void;
  changed(): void;
  warn(text: string): void;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const KINDS = new Set<string>(SENSOR_TOPICS);

export class FleetCentral {
  private client: MqttClient | null = null;
  /** Each sensor's last health and status, merged into one report. */
  private readonly health = new Map<string, Obj>();
  received = 0;
  refused = 0;
  lastError: string | null = null;

  constructor(private readonly settings: FleetCentralSettings, private readonly password: string | undefined, private readonly baseDir: string, private readonly host: CentralHost) {}

  start(): void {
    const client = mqtt.connect(this.settings.broker, clientOptions(this.settings, `ips-central-${this.settings.name}`, this.password, this.baseDir));
    this.client = client;
    client.on('connect', (ack) => {
      this.lastError = null;
      // A session the broker kept has the subscription already; subscribing again is harmless.
      if (!ack.sessionPresent) client.subscribe(TOPICS.everySensor, { qos: 1 });
      this.host.changed();
    });
    client.on('close', () => this.host.changed());
    client.on('error', (err) => {
      this.lastError = err.message;
      this.host.changed();
    });
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  get sensors(): number {
    return this.health.size;
  }

  /** A block or unblock from the dashboard: msg.topic 'block'/'unblock' with the address, or { ip, action, durationS?, reason? }. */
  decide(msg: { topic?: unknown; payload?: unknown; durationS?: unknown }, now = Date.now()): DecisionPublish {
    let ip: unknown;
    let action: unknown;
    let durationS: unknown = msg.durationS;
    let reason: unknown = 'blocked from the central dashboard';
    if ((msg.topic === 'block' || msg.topic === 'unblock') && typeof msg.payload === 'string') {
      ip = msg.payload;
      action = msg.topic;
    } else if (isObj(msg.payload)) {
      ({ ip, action } = msg.payload);
      durationS = msg.payload.durationS ?? durationS;
      reason = msg.payload.reason ?? reason;
    }
    const addr = typeof ip === 'string' ? decisionAddress(ip) : null;
    if (addr === null) throw new Error(`a decision needs an IP or MAC address, got ${JSON.stringify(ip)}`);
    if (action !== 'block' && action !== 'unblock') throw new Error("a decision is msg.topic 'block'/'unblock' with the address, or { ip, action: 'block'|'unblock', durationS?, reason? }");
    let pub: DecisionPublish | null;
    if (action === 'unblock') pub = publishUnblock(addr);
    else {
      const d = durationS === undefined || durationS === null || durationS === '' ? this.settings.durationS : durationS;
      if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) throw new Error(`durationS must be a whole number of seconds, got ${JSON.stringify(d)}`);
      pub = publishBlock({ ip: addr, action: 'block', expires: d === 0 ? 0 : now + d * 1000, reason: String(reason), rule: 'manual', origin: this.settings.name, ts: now }, now);
    }
    if (!pub) throw new Error('nothing to publish');
    if (!this.client?.connected) throw new Error(`broker ${this.settings.broker} unreachable: decision on ${addr} not published`);
    this.client.publish(pub.topic, pub.payload, decisionOptions(pub));
    return pub;
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    if (client) await client.endAsync().catch(() => undefined);
  }

  private onMessage(topic: string, raw: Buffer): void {
    const [root, sensor, kind, ...rest] = topic.split('/');
    if (root !== TOPICS.root || rest.length || !KINDS.has(kind) || !SENSOR_NAME.test(sensor) || sensor === 'decisions' || kind === 'eve') return;
    this.received++;
    try {
      const record = this.recordOf(sensor, kind as SensorTopic, raw);
      if (record) this.host.record(record);
    } catch (err) {
      this.refused++;
      this.host.warn(`${topic}: ${(err as Error).message}`);
    }
    this.host.changed();
  }

  private recordOf(sensor: string, kind: SensorTopic, raw: Buffer): CentralRecord | null {
    if (kind === 'status') return this.healthRecord(sensor, { status: raw.toString('utf8') });
    if (raw.length === 0) return null; // a retained message cleared
    const payload: unknown = JSON.parse(raw.toString('utf8'));
    switch (kind) {
      case 'alerts':
      case 'blocklist':
        return { payload, sensor };
      case 'devices':
      case 'flows':
        return { topic: kind, payload, sensor };
      case 'health':
        if (!isObj(payload)) throw new Error('a health report is an object');
        return this.healthRecord(sensor, payload);
      default:
        return null;
    }
  }

  private healthRecord(sensor: string, fields: Obj): CentralRecord {
    const merged = { ...this.health.get(sensor), ...fields };
    this.health.set(sensor, merged);
    return { topic: 'health', payload: merged, sensor };
  }
}
