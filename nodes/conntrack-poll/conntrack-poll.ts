import type { NodeAPI, Node, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { CidrSet, parseCidrList } from '../../lib/base/cidr';
import { ConntrackReader, DestroyWatcher, ensureAccounting, type ConntrackSource } from '../../lib/net/conntrack';
import { DeviceBook, type PollResult } from '../../lib/net/device-stats';
import { DestinationPolicy } from '../../lib/net/destination-policy';
import { interfaceNetworks, NeighbourTable } from '../../lib/net/neighbours';
import { applySettings, settingsFromConfig, type Schema } from '../../lib/base/settings';
import type { FlowRecord } from '../../lib/net/types';
import { status, shortError } from '../common/status';

interface ConntrackPollConfig extends NodeDef {
  interval: string;
  lan: string;
  iface: string;
  source: string;
  events: boolean;
  flowOutput: string;
  policy: string;
  policyCooldownS: string;
  resolveMac: boolean;
  idleS: string;
}

interface PollSettings {
  interval: number;
  flowOutput: 'none' | 'new' | 'ended' | 'all';
  policy: string;
  policyCooldownS: number;
  idleS: number;
}

const SCHEMA: Schema<PollSettings> = {
  interval: { type: 'number', min: 0, max: 3600, default: 1, unit: 's', label: 'Poll every', help: 'seconds between polls; 0 polls only on input' },
  flowOutput: { type: 'enum', values: ['none', 'new', 'ended', 'all'], default: 'none', label: 'Flow records', help: 'which flow records go out on output 2' },
  policy: { type: 'string', maxLength: 100_000, default: '', label: 'Destination policy', help: 'device → allowed destinations rules, one per line' },
  policyCooldownS: { type: 'number', min: 0, max: 86_400, default: 600, unit: 's', label: 'Policy cooldown', help: 'repeat a policy alert for the same device and destination at most this often' },
  idleS: { type: 'number', min: 0, max: 86_400, default: 60, unit: 's', label: 'Idle after', help: 'a device with no traffic for this long is left out of the stats' },
};

export = function (RED: NodeAPI): void {
  function ConntrackPollNode(this: Node, config: ConntrackPollConfig): void {
    RED.nodes.createNode(this, config);
    setup(this, config);
  }

  function setup(node: Node, config: ConntrackPollConfig): void {
    let settings: PollSettings;
    let policy: DestinationPolicy;
    let staticLan: CidrSet | null;
    try {
      settings = settingsFromConfig(SCHEMA, config as unknown as Record<string, unknown>);
      policy = new DestinationPolicy({ rules: settings.policy, cooldownMs: settings.policyCooldownS * 1000, detector: config.name || 'conntrack-poll' });
      staticLan = config.lan && config.lan.trim() ? new CidrSet(parseCidrList(config.lan)) : null;
      if (!staticLan && !config.iface) throw new Error('give the LAN as CIDRs or as an interface');
    } catch (err) {
      status.error(node, shortError(err));
      node.error(err);
      return;
    }
    const reader = new ConntrackReader((['auto', 'tool', 'proc'].includes(config.source) ? config.source : 'auto') as ConntrackSource);
    const neighbours = config.resolveMac === false ? null : new NeighbourTable({ leaseFile: null });
    let book: DeviceBook | null = null;
    let watcher: DestroyWatcher | null = null;
    let timer: NodeJS.Timeout | null = null;
    let polling = false;
    let closed = false;
    let acctNote = '';
    let lastNeighbourRefresh = 0;
    let lastPollError = '';

    async function makeBook(): Promise<DeviceBook> {
      let lan = staticLan;
      let exclude = new Set<string>();
      if (config.iface) {
        const { networks, addresses } = await interfaceNetworks(config.iface);
        lan = new CidrSet([...(staticLan ? staticLan.cidrs : []), ...networks]);
        exclude = new Set(addresses);
      }
      return new DeviceBook({ lan: lan as CidrSet, exclude, idleMs: settings.idleS * 1000, collectActive: settings.flowOutput === 'all' });
    }

    function emit(result: PollResult): void {
      if (neighbours) {
        for (const d of result.devices) {
          const mac = neighbours.byIp(d.ip)?.mac;
          if (mac) d.mac = mac;
        }
      }
      const flows: FlowRecord[] = settings.flowOutput === 'all' ? result.active.concat(result.ended)
        : settings.flowOutput === 'new' ? result.started
          : settings.flowOutput === 'ended' ? result.ended : [];
      const alerts = policy.check(result.started.concat(result.ended.filter((f) => f.start === f.end)));
      const out: (NodeMessage | NodeMessage[] | null)[] = [
        { topic: 'devices', payload: result.devices },
        flows.length ? { topic: 'flows', payload: flows } : null,
        alerts.length ? alerts.map((a) => ({ topic: a.rule, payload: a })) : null,
      ];
      node.send(out);
    }

    async function poll(): Promise<void> {
      if (polling || closed) return;
      polling = true;
      const t0 = process.hrtime.bigint();
      try {
        if (!book) book = await makeBook();
        const entries = await reader.read();
        const now = Date.now();
        if (neighbours && now - lastNeighbourRefresh > 5000) {
          lastNeighbourRefresh = now;
          await neighbours.refresh().catch((err: Error) => node.warn(`neighbour table: ${err.message}`));
        }
        const result = book.poll(entries, now);
        if (closed) return;
        emit(result);
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        const text = `${result.devices.length} devices, ${book.flowCount} flows, ${ms.toFixed(0)} ms`;
        if (acctNote) status.warn(node, `${text}; accounting off`);
        else status.ok(node, text);
        lastPollError = '';
      } catch (err) {
        status.error(node, shortError(err));
        // Once per distinct failure, not every interval (e.g. the LAN interface has no address yet).
        const text = (err as Error).message;
        if (text !== lastPollError) node.error(err);
        lastPollError = text;
      } finally {
        polling = false;
      }
    }

    function schedule(): void {
      if (timer) clearInterval(timer);
      timer = settings.interval > 0 ? setInterval(() => void poll(), settings.interval * 1000) : null;
    }

    async function start(): Promise<void> {
      const acct = await ensureAccounting(true);
      if (!acct.on) {
        acctNote = acct.reason ?? 'nf_conntrack_acct is off';
        node.warn(acctNote);
        status.warn(node, 'accounting off: counters will be zero');
      } else if (acct.enabled) {
        node.log('switched on net.netfilter.nf_conntrack_acct in this network namespace');
      }
      if (closed) return;
      if (config.events !== false) {
        watcher = new DestroyWatcher((e) => book?.destroyed(e), (err) => node.warn(`conntrack events unavailable (${err.message}); flows that end between polls are counted up to their last poll`));
        watcher.start();
      }
      schedule();
      await poll();
    }
    void start().catch((err: Error) => {
      status.error(node, shortError(err));
      node.error(err);
    });

    node.on('input', (msg: NodeMessageInFlow, _send, done) => {
      try {
        if (msg.topic === 'config') {
          const next = applySettings(SCHEMA, settings, msg.payload);
          const nextPolicy = new DestinationPolicy({ rules: next.policy, cooldownMs: next.policyCooldownS * 1000, detector: config.name || 'conntrack-poll' });
          const rescheduled = next.interval !== settings.interval;
          if (next.idleS !== settings.idleS) book = null; // rebuilt (new baseline) with the new idle time
          settings = next;
          policy = nextPolicy;
          if (book) book.collectActive = next.flowOutput === 'all';
          if (rescheduled) schedule();
        } else if (msg.topic === 'reset') {
          book?.reset();
          policy.reset();
        } else {
          void poll();
        }
        done();
      } catch (err) {
        status.error(node, shortError(err));
        done(err as Error);
      }
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      if (timer) clearInterval(timer);
      watcher?.stop();
      status.clear(node);
      done();
    });
  }
  RED.nodes.registerType('conntrack-poll', ConntrackPollNode);
};
