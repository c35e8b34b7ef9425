/**
 * fleet-sensor's engine: this box as one sensor of a fleet. What reaches it
 * (alerts, device stats, flow records, iptables-block's block lists, health
 * figures) is published under `ips/<sensor>/…` with QoS 1 through the
 * on-disk outbox (lib/store/outbox.ts): every message is on disk before it
 * is sent and deleted when the broker acknowledged it, so a broker restart
 * or a cut of minutes loses nothing and the order is kept. At most
 * `WINDOW` messages are in flight at once (100: enough to keep a LAN link
 * busy at ~10,000 alerts/s, few enough that a reconnect resends little).
 *
 * Each alert gets a stable id (a UUID, stored with it in the outbox), so the
 * central stores it once however often it is redelivered. Its health (version,
 * uptime, packets, drops, list ages, the queue) goes out every `healthS`
 * seconds, retained; its status (online, or offline as the broker's will)
 * too. Shared decisions (decisions.ts) come back as block commands for
 * the sensor's iptables-block.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import type { Alert } from '../detect/alert';
import type { BlockCommand, BlockEntry } from '../net/types';
import { eveAlert, eveFlow, eveStats } from '../store/eve';
import { Outbox } from '../store/outbox';
import type { FleetSensorSettings } from './settings';
import { SENSOR_NAME } from '../store/records';
import { DecisionBook, decisionOptions, parseDecision, type DecisionPublish } from './decisions';
import { clientOptions, TOPICS, type SensorTopic } from './link';

/** Messages sent and not yet acknowledged at once. */
const WINDOW = 100;
/** The pack's version, in health reports: from the package.json above this file (dist/ or the sources). */
const VERSION = ((): string => {
  for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'node-red-contrib-ips' && pkg.version) return pkg.version;
    } catch {
      // no package.json here: look further up
    }
  }
  return 'unknown';
})();

export interface SensorHost {
  /** A shared decision for this sensor's iptables-block. */
  command(cmd: BlockCommand): void;
  /** Something changed that the status shows. */
  changed(): void;
  warn(text: string): void;
  log(text: string): void;
}

export interface SensorStatus {
  connected: boolean;
  queued: number;
  dropped: number;
  sent: number;
  maxRows: number;
  lastError: string | null;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

export class FleetSensor {
  readonly name: string;
  private client: MqttClient | null = null;
  private readonly outbox: Outbox;
  private readonly book: DecisionBook;
  private readonly started = Date.now();
  private healthTimer: NodeJS.Timeout | null = null;
  /** Last id handed to the client; rows after it are not yet sent. */
  private lastSent = 0;
  private inFlight = 0;
  /** Counts connections: an acknowledgement from an earlier one deletes its row but no longer counts in flight. */
  private generation = 0;
  private pumping = false;
  private pumpAgain = false;
  private acked: number[] = [];
  private sent = 0;
  private lastError: string | null = null;
  /** Figures other nodes report (packets, drops, list ages), merged into health. */
  private figures: Obj = {};
  private blocked = 0;
  private blocklistAt = 0;

  constructor(private readonly settings: FleetSensorSettings, private readonly password: string | undefined, dbFile: string,
    private readonly baseDir: string, private readonly host: SensorHost) {
    this.name = settings.sensor || os.hostname().replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 64);
    if (!SENSOR_NAME.test(this.name) || this.name === 'decisions') throw new Error(`sensor name ${JSON.stringify(this.name)} cannot be a topic level: give one (letters, digits, . _ -; not 'decisions')`);
    this.outbox = new Outbox(dbFile, settings.queueMax);
    this.outbox.on('dropped', (n: number) => {
      host.warn(`queue full (${settings.queueMax} messages while the broker is away): dropped the ${n} oldest; ${this.outbox.dropped} dropped since start`);
      host.changed();
    });
    this.outbox.on('fault', (text: string) => {
      this.lastError = text;
      host.warn(text);
    });
    this.book = new DecisionBook(this.name);
  }

  async start(): Promise<void> {
    const left = await this.outbox.open();
    if (left) this.host.log(`${left} messages from an earlier run wait to be sent`);
    const opts = clientOptions(this.settings, `ips-sensor-${this.name}`, this.password, this.baseDir);
    opts.will = { topic: TOPICS.of(this.name, 'status'), payload: Buffer.from('offline'), qos: 1, retain: true };
    const client = mqtt.connect(this.settings.broker, opts);
    this.client = client;
    client.on('connect', () => {
      this.lastError = null;
      // Send again everything not yet acknowledged: a message handed to the client as the link died may be
      // neither acknowledged nor resent by it. The central stores an alert id once, so a duplicate costs nothing.
      this.generation++;
      this.lastSent = 0;
      this.inFlight = 0;
      client.publish(TOPICS.of(this.name, 'status'), 'online', { qos: 1, retain: true });
      if (this.settings.decisions) client.subscribe(TOPICS.decisions, { qos: 1 });
      this.publishHealth();
      this.host.changed();
      void this.pump();
    });
    client.on('close', () => this.host.changed());
    client.on('error', (err) => {
      this.lastError = err.message;
      this.host.changed();
    });
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    this.healthTimer = setInterval(() => this.publishHealth(), this.settings.healthS * 1000);
  }

  /** One message from the flow; throws naming what it does not understand. */
  input(msg: { topic?: unknown; payload?: unknown }, now = Date.now()): void {
    const p = msg.payload;
    if (msg.topic === 'health') {
      if (!isObj(p)) throw new Error('msg.topic "health" needs msg.payload { packets?, drops?, lists?: { name: age s } }');
      this.figures = { ...this.figures, ...p };
      return;
    }
    if (msg.topic === 'devices') return this.queue('devices', p);
    if (msg.topic === 'flows') {
      this.queue('flows', p);
      if (this.settings.eve) for (const f of Array.isArray(p) ? p : [p]) this.queue('eve', eveFlow(f as never, this.ctx(), now));
      return;
    }
    if (isObj(p) && Array.isArray(p.blocked)) return this.blockList(p.blocked as BlockEntry[], now);
    const alerts = Array.isArray(p) ? p : [p];
    if (alerts.length === 0 || !alerts.every((a) => isObj(a) && typeof a.rule === 'string' && typeof a.severity === 'string')) {
      throw new Error('expected alerts, msg.topic "devices"/"flows"/"health", or iptables-block\'s block list ({ blocked: [...] })');
    }
    for (const a of alerts as Alert[]) {
      const id = randomUUID();
      this.queue('alerts', { ...a, id });
      if (this.settings.eve) this.queue('eve', eveAlert(a, this.ctx(), id));
    }
  }

  status(): SensorStatus {
    return { connected: this.client?.connected ?? false, queued: this.outbox.size, dropped: this.outbox.dropped, sent: this.sent, maxRows: this.settings.queueMax, lastError: this.lastError };
  }

  async close(): Promise<void> {
    if (this.healthTimer) clearInterval(this.healthTimer);
    const client = this.client;
    this.client = null;
    if (client) await client.endAsync().catch(() => undefined);
    await this.outbox.remove(this.acked.splice(0));
    await this.outbox.close();
  }

  private ctx() {
    return { host: this.name, iface: this.settings.iface || undefined };
  }

  private queue(kind: SensorTopic, payload: unknown): void {
    this.outbox.add(TOPICS.of(this.name, kind), JSON.stringify(payload));
    setTimeout(() => void this.pump(), 25);
  }

  private blockList(entries: BlockEntry[], now: number): void {
    this.blocked = entries.length;
    this.blocklistAt = now;
    this.queue('blocklist', { blocked: entries });
    if (!this.settings.decisions) return;
    for (const d of this.book.fromBlockList(entries, now)) this.publishDecision(d);
  }

  private publishDecision(d: DecisionPublish): void {
    // Decisions are live state, not history: sent when connected (retained), not queued.
    if (!this.client?.connected) {
      this.host.warn(`broker unreachable: decision on ${d.topic} not shared`);
      return;
    }
    this.client.publish(d.topic, d.payload, decisionOptions(d));
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (!topic.startsWith(TOPICS.decision(''))) return;
    const parsed = parseDecision(topic, payload);
    if (parsed.refused) return this.host.warn(parsed.refused);
    const cmd = this.book.apply(parsed, Date.now());
    if (cmd) this.host.command(cmd);
  }

  private publishHealth(): void {
    const client = this.client;
    if (!client?.connected) return;
    const uptimeS = Math.round((Date.now() - this.started) / 1000);
    const packets = typeof this.figures.packets === 'number' ? this.figures.packets : 0;
    const drops = typeof this.figures.drops === 'number' ? this.figures.drops : 0;
    const lists = { ...(isObj(this.figures.lists) ? this.figures.lists : {}), ...(this.blocklistAt ? { blocklist: Math.round((Date.now() - this.blocklistAt) / 1000) } : {}) };
    const health = { ...this.figures, version: VERSION, uptimeS, packets, drops, lists, blocked: this.blocked, queued: this.outbox.size, dropped: this.outbox.dropped, sent: this.sent, decisions: this.book.size };
    client.publish(TOPICS.of(this.name, 'health'), JSON.stringify(health), { qos: 1, retain: true });
    if (this.settings.eve) client.publish(TOPICS.of(this.name, 'eve'), JSON.stringify(eveStats(Date.now(), uptimeS, packets, drops, this.ctx())), { qos: 1 });
  }

  /** Send what waits in the outbox, oldest first, at most WINDOW unacknowledged. */
  private async pump(): Promise<void> {
    if (this.pumping) {
      // Rows may have been written after the running pass read the outbox: it goes round once more.
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    this.pumpAgain = false;
    try {
      await this.outbox.flush();
      for (;;) {
        const client = this.client;
        if (!client?.connected || this.inFlight >= WINDOW) return;
        const rows = await this.outbox.next(this.lastSent, WINDOW - this.inFlight);
        if (rows.length === 0) return;
        const generation = this.generation;
        for (const row of rows) {
          this.inFlight++;
          this.lastSent = row.id;
          client.publish(row.topic, row.payload, { qos: 1 }, (err) => this.delivered(row.id, err, generation));
        }
      }
    } catch (err) {
      this.lastError = (err as Error).message;
    } finally {
      this.pumping = false;
      if (this.pumpAgain) void this.pump();
    }
  }

  /** PUBACK (or a failure): delete delivered rows in batches; a failed one is sent again from its place. */
  private delivered(id: number, err: Error | undefined, generation: number): void {
    const current = generation === this.generation;
    if (current) this.inFlight = Math.max(0, this.inFlight - 1);
    if (err) {
      if (current) this.lastSent = Math.min(this.lastSent, id - 1);
      this.lastError = err.message;
    } else {
      this.sent++;
      this.acked.push(id);
    }
    if (this.acked.length >= WINDOW / 2 || this.inFlight === 0) {
      void this.outbox.remove(this.acked.splice(0)).then(() => this.host.changed(), (e: Error) => this.host.warn(e.message));
    }
    void this.pump();
  }
}
