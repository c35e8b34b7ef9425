/**
 * push-notify's engine: turns what the router flow sees (alerts, block lists,
 * device lists) into phone notifications without alert fatigue. An ICMP flood
 * gives one alert per detector cooldown (10 s by default), so a flood of an
 * hour would be 360 messages; here it is at most one message per device and
 * rule per interval (10 minutes by default: 6 for that hour), and the repeats
 * in between are counted into one digest per interval ("3 more: …"), sent
 * when the interval that held them ends. Memory is bounded: at most
 * MAX_KEYS (device, rule) pairs are remembered, at most MAX_DEVICES devices
 * known, and a digest lists at most DIGEST_LINES pairs with the rest counted.
 *
 * The collapsing (`Collapser`) is pure, on times given by the caller, so it
 * is tested without a clock; `Notifier` adds the digest timer and the
 * transport (lib/net/notify-push.ts).
 */
import type { Schema } from '../base/settings';
import type { Alert, Severity } from '../detect/alert';
import type { BlockList, DeviceStats } from './types';
import { pushMessage, type PushMessage, type PushSettings } from './notify-push';

export interface NotifySettings extends PushSettings {
  intervalS: number;
  minSeverity: Severity;
  newDevices: boolean;
  blocks: boolean;
}

export const notifySchema: Schema<NotifySettings> = {
  service: { type: 'enum', values: ['off', 'ntfy', 'telegram'], default: 'off', label: 'Service', help: "where to push: 'off' (nothing is sent), 'ntfy' (an HTTP POST of the text to a topic URL) or 'telegram' (a bot's sendMessage)" },
  url: {
    type: 'string', maxLength: 2048, pattern: 'https?://[^\\s]+', patternError: 'is not an http:// or https:// URL', keepBlank: true, default: '',
    label: 'URL', help: "ntfy: the topic URL, e.g. https://ntfy.example/ips-home; telegram: the Bot API address (blank = Telegram's)",
  },
  token: { type: 'string', maxLength: 512, keepBlank: true, default: '', label: 'Token', help: 'ntfy: an access token (sent as Bearer; blank = none); telegram: the bot token' },
  chat: { type: 'string', maxLength: 64, pattern: '-?\\d+|@[A-Za-z0-9_]{5,32}', patternError: 'is not a chat id (a number or @channel)', keepBlank: true, default: '', label: 'Chat', help: 'telegram: the chat id to send to' },
  intervalS: { type: 'int', min: 1, max: 86_400, default: 600, unit: 's', label: 'Interval', help: 'at most one message per device and rule in this time; the repeats go into one digest at its end' },
  minSeverity: { type: 'enum', values: ['high', 'medium', 'low'], default: 'high', label: 'Alerts from', help: 'alerts of this severity and above are notified' },
  newDevices: { type: 'bool', default: true, label: 'New devices', help: 'notify a device the LAN had not seen since the node started (the first device list is what is there)' },
  blocks: { type: 'bool', default: true, label: 'Blocks', help: 'notify each address iptables-block blocks (not when it only extends a block)' },
};

/** Something worth a notification, about one device (address) and one rule. */
export interface NotifyEvent {
  device: string;
  /** The alert's rule, 'block' or 'device.new'. */
  rule: string;
  title: string;
  text: string;
  severity: Severity;
}

const RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2 };
const MAX_KEYS = 10_000;
const MAX_DEVICES = 4096;
const DIGEST_LINES = 20;

interface Held {
  device: string;
  rule: string;
  count: number;
  last: NotifyEvent;
}

/**
 * At most one message per (device, rule) per interval; repeats within it are
 * held and counted, and `digest(now)` returns them as one message once the
 * interval that began with the first held repeat has passed.
 */
export class Collapser {
  private readonly sent = new Map<string, number>();
  private held = new Map<string, Held>();
  private heldSince: number | null = null;

  constructor(private intervalMs: number) {}

  /** The message to send now for `event` at time `now`, or null when it is a repeat (held for the digest). */
  offer(event: NotifyEvent, now: number): PushMessage | null {
    const key = `${event.device}\u0000${event.rule}`;
    const last = this.sent.get(key);
    if (last === undefined || now - last >= this.intervalMs) {
      this.sent.delete(key); // re-inserted last: the map stays in sending order, oldest first
      this.sent.set(key, now);
      if (this.sent.size > MAX_KEYS) this.sent.delete(this.sent.keys().next().value as string);
      return { title: event.title, text: event.text, severity: event.severity };
    }
    const held = this.held.get(key);
    if (held) {
      held.count++;
      held.last = event;
    } else if (this.held.size < MAX_KEYS) {
      this.held.set(key, { device: event.device, rule: event.rule, count: 1, last: event });
    }
    this.heldSince ??= now;
    return null;
  }

  /** When the next digest is due (ms, the callers' clock), or null with nothing held. */
  get digestDue(): number | null {
    return this.heldSince === null ? null : this.heldSince + this.intervalMs;
  }

  /** The digest of the held repeats if it is due at `now` (or `force`), else null; a digest empties the hold. */
  digest(now: number, force = false): PushMessage | null {
    const due = this.digestDue;
    if (due === null || (!force && now < due)) return null;
    const held = [...this.held.values()].sort((a, b) => b.count - a.count);
    this.held = new Map();
    this.heldSince = null;
    const total = held.reduce((n, h) => n + h.count, 0);
    const lines = held.slice(0, DIGEST_LINES).map((h) => `${h.rule} ${h.device} ×${h.count}: ${h.last.text}`);
    if (held.length > DIGEST_LINES) lines.push(`and ${held.length - DIGEST_LINES} more devices or rules`);
    const severity = held.some((h) => h.last.severity === 'high') ? 'high' : held.some((h) => h.last.severity === 'medium') ? 'medium' : 'low';
    return { title: `${total} more ${total === 1 ? 'event' : 'events'} (repeats)`, text: lines.join('\n'), severity, digest: true };
  }

  /** Another interval (settings changed): what was sent and what is held are measured against it from now on. */
  setInterval(intervalMs: number): void {
    this.intervalMs = intervalMs;
  }

  reset(): void {
    this.sent.clear();
    this.held = new Map();
    this.heldSince = null;
  }
}

/** Recognises the events in the messages the router flow gives the node. */
export class EventSource {
  private known: Set<string> | null = null;

  constructor(private settings: NotifySettings) {}

  configure(settings: NotifySettings): void {
    this.settings = settings;
  }

  reset(): void {
    this.known = null;
  }

  /** Events in one message: an Alert (or an array of them), a block list with its results, or device stats. */
  events(topic: unknown, payload: unknown, results: unknown): NotifyEvent[] {
    if (topic === 'devices' && Array.isArray(payload)) return this.newDevices(payload as DeviceStats[]);
    if (topic === 'blocklist') return this.blocked(payload as BlockList, results);
    const alerts = Array.isArray(payload) ? payload : [payload];
    return alerts.filter(isAlert).filter((a) => RANK[a.severity] >= RANK[this.settings.minSeverity]).map((a) => ({
      device: a.offender ?? a.src ?? a.dst,
      rule: a.rule,
      title: `${a.severity}: ${a.signature}`,
      text: a.reason,
      severity: a.severity,
    }));
  }

  private newDevices(devices: DeviceStats[]): NotifyEvent[] {
    const first = this.known === null;
    const known = (this.known ??= new Set());
    const out: NotifyEvent[] = [];
    for (const d of devices) {
      if (!d || typeof d.ip !== 'string' || known.has(d.ip)) continue;
      known.add(d.ip);
      if (known.size > MAX_DEVICES) known.delete(known.values().next().value as string);
      if (first || !this.settings.newDevices) continue;
      const name = [d.hostname, d.vendor, d.mac].filter((x) => typeof x === 'string' && x !== '').join(', ');
      out.push({ device: d.ip, rule: 'device.new', title: `new device ${d.ip}`, text: name ? `${d.ip} (${name}) joined the LAN` : `${d.ip} joined the LAN`, severity: 'high' });
    }
    return out;
  }

  private blocked(list: BlockList | undefined, results: unknown): NotifyEvent[] {
    if (!this.settings.blocks || !Array.isArray(results)) return [];
    const entries = Array.isArray(list?.blocked) ? list.blocked : [];
    return (results as { action?: unknown; ip?: unknown; durationS?: unknown; extended?: unknown }[])
      .filter((r) => r && r.action === 'block' && typeof r.ip === 'string' && !r.extended)
      .map((r) => {
        const entry = entries.find((b) => b.ip === r.ip);
        const how = typeof r.durationS === 'number' && r.durationS > 0 ? `for ${r.durationS} s` : 'until unblocked';
        return { device: r.ip as string, rule: 'block', title: `blocked ${r.ip as string}`, text: `${entry?.reason ?? 'blocked'} (${how})`, severity: 'high' as const };
      });
  }
}

function isAlert(x: unknown): x is Alert {
  const a = x as Partial<Alert> | null;
  return !!a && typeof a === 'object' && typeof a.rule === 'string' && typeof a.severity === 'string' && a.severity in RANK && typeof a.reason === 'string';
}

/** What the node hears from the engine. */
export interface NotifierEvents {
  /** A message was pushed (or, with service 'off', would have been). */
  sent(message: PushMessage): void;
  /** A push failed (the message is lost; the next ones are still tried). */
  error(err: Error): void;
}

/** Events → collapsed messages → pushes; the digest on a timer. */
export class Notifier {
  private readonly source: EventSource;
  private readonly collapser: Collapser;
  private timer: NodeJS.Timeout | null = null;
  sentCount = 0;
  failed = 0;
  held = 0;

  constructor(private settings: NotifySettings, private readonly events: NotifierEvents, private readonly now: () => number = Date.now) {
    this.source = new EventSource(settings);
    this.collapser = new Collapser(settings.intervalS * 1000);
  }

  configure(settings: NotifySettings): void {
    this.settings = settings;
    this.source.configure(settings);
    this.collapser.setInterval(settings.intervalS * 1000);
    this.schedule();
  }

  /** Handle one message; resolves once its pushes are done (failures go to events.error). */
  async handle(topic: unknown, payload: unknown, results?: unknown): Promise<void> {
    const now = this.now();
    const out: PushMessage[] = [];
    for (const e of this.source.events(topic, payload, results)) {
      const m = this.collapser.offer(e, now);
      if (m) out.push(m);
      else this.held++;
    }
    this.schedule();
    await Promise.all(out.map((m) => this.push(m)));
  }

  /** Send the digest now if anything is held. */
  async flush(): Promise<void> {
    const m = this.collapser.digest(this.now(), true);
    this.schedule();
    if (m) await this.push(m);
  }

  reset(): void {
    this.source.reset();
    this.collapser.reset();
    this.schedule();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    this.close();
    const due = this.collapser.digestDue;
    if (due === null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const m = this.collapser.digest(this.now());
      this.schedule();
      if (m) void this.push(m);
    }, Math.max(0, due - this.now()));
  }

  private async push(m: PushMessage): Promise<void> {
    try {
      if (this.settings.service !== 'off') await pushMessage(this.settings, m);
      this.sentCount++;
      this.events.sent(m);
    } catch (err) {
      this.failed++;
      this.events.error(err as Error);
    }
  }
}
