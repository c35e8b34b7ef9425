/**
 * ConntrackPoller (conntrack-poll's engine) without Node-RED: run in a child
 * process inside a router namespace (conntrack is per namespace), on the
 * real kernel table, the real conntrack tool and a device namespace that
 * pings. What it reports, runtime settings, a failing poll reported once,
 * and close() leaving nothing running (the child then exits by itself).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Lab, netnsUnavailable, RASPBERRY_PI_MAC, routerWithDevice, toolMissing, type Netns } from '../../support/netns';
import { until } from '../../support/wait';
import { ConntrackPoller, conntrackPollSchema, type PollReport } from '../../../lib/net/conntrack-poll';
import { defaultsOf } from '../../../lib/base/settings';

interface Event extends Partial<PollReport> {
  event: string;
  message?: string;
  text?: string;
}

/** A poller in a child process inside `ns`, started with a settings patch. */
class PollerChild {
  readonly events: Event[] = [];
  private readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** The exit code once the child has exited (null after a signal). */
  exitCode: number | null | undefined = undefined;

  constructor(ns: Netns, settings: Record<string, unknown>) {
    this.child = ns.spawn(process.execPath, [path.join(__dirname, '..', '..', 'support', 'conntrack-poll-child.js'), JSON.stringify(settings)]);
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.events.push(JSON.parse(line) as Event));
    let stderr = '';
    this.child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => {
      if (stderr) this.events.push({ event: 'stderr', text: stderr });
      this.exitCode = code;
      resolve(code);
    }));
  }

  send(command: Record<string, unknown>): void {
    this.child.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  of(kind: string): Event[] {
    return this.events.filter((e) => e.event === kind);
  }

  /** Wait until an event after the first `from` satisfies `pred`; returns it. */
  async next(pred: (e: Event) => boolean, what: string, from = 0, timeoutMs = 15_000): Promise<Event> {
    let found: Event | undefined;
    await until(() => (found = this.events.slice(from).find(pred)) !== undefined, `${what} (events: ${JSON.stringify(this.events.map((e) => e.event))})`, timeoutMs, 50);
    return found!;
  }

  /** Poll now and wait until it is over; returns its report (none when the poll failed). */
  async poll(): Promise<Event | undefined> {
    const from = this.events.length;
    this.send({ poll: true });
    await this.next((e) => e.event === 'polled', 'an on-demand poll', from);
    return this.events.slice(from).find((e) => e.event === 'report');
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

const device = (e: Event, ip: string) => e.devices?.find((d) => d.ip === ip);

describe('ConntrackPoller', () => {
  test('refuses settings without a LAN, and a bad policy, before starting anything', () => {
    const noop = { report: () => undefined, error: () => undefined, warn: () => undefined, log: () => undefined };
    const defaults = defaultsOf(conntrackPollSchema);
    assert.throws(() => new ConntrackPoller(defaults, 't', noop), /give the LAN as CIDRs \(lan\) or as an interface \(iface\)/);
    assert.throws(() => new ConntrackPoller({ ...defaults, lan: ['10.0.0.0/8'], policy: 'nonsense' }, 't', noop), /line 1/);
  });
});

describe('ConntrackPoller in a router namespace (real kernel, real tool)', () => {
  let skip: string | null = null;
  let lab: Lab;
  let r: Netns;
  let d: Netns;
  let deviceIf: string;
  const children: PollerChild[] = [];

  before(async () => {
    skip = (await netnsUnavailable()) ?? (await toolMissing('conntrack', 'iptables', 'ping'));
    if (skip) return;
    lab = new Lab();
    ({ router: r, device: d, deviceIf } = await routerWithDevice(lab, '10.81.0', { track: true }));
  });

  after(async () => {
    for (const c of children) c.kill();
    await lab?.cleanup();
  });

  const start = (settings: Record<string, unknown>): PollerChild => {
    const c = new PollerChild(r, settings);
    children.push(c);
    return c;
  };

  test('polls on its interval: a pinging device with its bytes, its new flows, a policy alert; settings change at runtime; close leaves nothing running', async (t) => {
    if (skip) return t.skip(skip);
    assert.equal((await r.exec('sysctl', ['-n', 'net.netfilter.nf_conntrack_acct'])).stdout.trim(), '0');
    const c = start({ interval: 0.3, lan: '10.81.0.0/24', flowOutput: 'new', policy: '* = 10.81.0.9' });
    await c.next((e) => e.event === 'started', 'the first poll');
    assert.equal((await r.exec('sysctl', ['-n', 'net.netfilter.nf_conntrack_acct'])).stdout.trim(), '1', 'accounting switched on in the namespace');
    await d.exec('ping', ['-c', '3', '-i', '0.2', '10.81.0.1']);
    const counted = await c.next((e) => (device(e, '10.81.0.2')?.txBytes ?? 0) >= 3 * 84, 'the device with its ping bytes');
    assert.ok(counted.devices!.every((x) => x.ip.startsWith('10.81.0.')), 'only LAN addresses are devices');
    const flows = c.of('report').flatMap((e) => e.flows ?? []);
    assert.ok(flows.some((f) => f.proto === 'icmp' && f.src === '10.81.0.2' && f.dst === '10.81.0.1' && f.end === undefined), 'the new ping flow is reported');
    const alerts = c.of('report').flatMap((e) => e.alerts ?? []);
    const alert = alerts.find((a) => a.rule === 'policy.destination');
    assert.ok(alert, 'no policy alert for the destination outside the allowlist');
    assert.deepEqual([alert.src, alert.dst, alert.detector], ['10.81.0.2', '10.81.0.1', 'under test']);
    assert.equal(c.of('error').length, 0);

    // Runtime settings: polls on demand only, every live flow reported, then another LAN (a new baseline without the device).
    const configure = async (patch: Record<string, unknown>, outcome = 'configured'): Promise<Event> => {
      const from = c.events.length;
      c.send({ configure: patch });
      return c.next((e) => e.event === outcome, outcome, from);
    };
    await configure({ interval: 0, flowOutput: 'all' });
    await d.exec('ping', ['-c', '1', '10.81.0.1']);
    assert.ok((await c.poll())!.flows!.some((f) => f.src === '10.81.0.2' && f.end === undefined), 'live flows reported with flowOutput all');
    assert.match((await configure({ lan: '', iface: '' }, 'refused')).message ?? '', /give the LAN/);
    await configure({ lan: '10.99.0.0/24' });
    assert.deepEqual((await c.poll())!.devices, []);

    // close(): no timer, no conntrack -E child left, so the process ends by itself.
    c.send({ close: true });
    await until(() => c.exitCode !== undefined, `the child to exit by itself (last events: ${JSON.stringify(c.events.slice(-3))})`, 10_000);
    assert.equal(c.exitCode, 0);
  });

  test('a LAN change while a poll reads the LAN takes effect: that poll and the next count only the new LAN', async (t) => {
    if (skip) return t.skip(skip);
    const c = start({ interval: 0, lan: '10.81.0.0/24', events: false, resolveMac: false });
    await c.next((e) => e.event === 'started', 'the first poll');
    const send = async (command: Record<string, unknown>, ...outcomes: string[]): Promise<Event[]> => {
      const from = c.events.length;
      c.send(command);
      for (const outcome of outcomes) await c.next((e) => e.event === outcome, outcome, from);
      return c.events.slice(from);
    };
    const reportOf = (events: Event[]): Event => events.find((e) => e.event === 'report')!;
    await d.exec('ping', ['-c', '2', '-i', '0.2', '10.81.0.1']);
    assert.ok(device(reportOf(await send({ poll: true }, 'polled')), '10.81.0.2'), 'the device is counted on the first LAN');
    await send({ configure: { idleS: 61 } }, 'configured'); // the next poll builds its device book anew
    await d.exec('ping', ['-c', '2', '-i', '0.2', '10.81.0.1']);
    // One command line: the child starts the poll, which is then building its book, and changes the LAN before that is done.
    const raced = await send({ poll: true, configure: { lan: '10.99.0.0/24' } }, 'configured', 'polled');
    assert.deepEqual(reportOf(raced).devices, [], 'the poll under way counted the old LAN');
    assert.deepEqual(reportOf(await send({ poll: true }, 'polled')).devices, [], 'the book of the old LAN was kept');
    assert.equal(c.of('error').length, 0);
    c.send({ close: true });
    assert.equal(await c.exited, 0);
  });

  test("a device's first report carries its MAC, even when the neighbour table was read a moment before its first packet", async (t) => {
    if (skip) return t.skip(skip);
    const c = start({ interval: 0, lan: '10.81.0.0/24', events: false });
    await c.next((e) => e.event === 'started', 'the first poll');
    // An address of the device's no earlier test used, so the router's neighbour table has no entry for it yet.
    await d.exec('ip', ['addr', 'add', '10.81.0.7/24', 'dev', deviceIf]);
    // The first poll has just read the neighbour table; the device's first packets come well within a second of that.
    await d.exec('ping', ['-c', '1', '-I', '10.81.0.7', '10.81.0.1']);
    const report = await c.poll();
    assert.ok(report, 'the poll reported');
    const found = device(report, '10.81.0.7');
    assert.ok(found, 'the new address is a device in the first poll after its ping');
    assert.equal(found.mac, RASPBERRY_PI_MAC);
    c.send({ close: true });
    assert.equal(await c.exited, 0);
  });

  test('a poll that fails is reported once, not every time, and again after it worked in between', async (t) => {
    if (skip) return t.skip(skip);
    // An interface of the router's without an address (one end of a veth pair inside the namespace).
    const dummy = `x${lab.tag}a`;
    await r.exec('ip', ['link', 'add', dummy, 'type', 'veth', 'peer', 'name', `x${lab.tag}b`]);
    await r.exec('ip', ['link', 'set', dummy, 'up']);
    const c = start({ interval: 0, iface: dummy, events: false, resolveMac: false });
    await c.next((e) => e.event === 'started', 'the first poll');
    await c.poll();
    await c.poll();
    const failure = `interface ${dummy} has no IPv4 or global IPv6 address`;
    assert.deepEqual(c.of('error').map((e) => e.message), [failure]);
    await r.exec('ip', ['addr', 'add', '10.82.0.1/24', 'dev', dummy]);
    await c.poll();
    assert.equal(c.of('report').length, 1, 'the poll works once the interface has an address');
    // The same failure after a poll that worked is news again: the LAN is read anew after a change of idle time.
    await r.exec('ip', ['addr', 'del', '10.82.0.1/24', 'dev', dummy]);
    const from = c.events.length;
    c.send({ configure: { idleS: 61 } });
    await c.next((e) => e.event === 'configured', 'configured', from);
    await c.poll();
    await c.poll();
    assert.deepEqual(c.of('error').map((e) => e.message), [failure, failure]);
    c.send({ close: true });
    assert.equal(await c.exited, 0);
  });
});
