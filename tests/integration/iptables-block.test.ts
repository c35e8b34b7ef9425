/**
 * iptables-block against the real kernel, once per backend (ipset, nftables,
 * plain iptables). A real Node-RED runtime runs in a child process inside a
 * victim namespace (tests/support/red-process.ts), as a user would run it on the
 * box; an attacker and another host ping it and fetch from its HTTP server.
 *
 *   atk 10.77.1.2 (+ .3, fd77:1::2) ── vic 10.77.1.1 / fd77:1::1
 *   oth 10.77.2.2 (vic's default gateway) ── vic 10.77.2.1
 *   vic routes between atk and oth (FORWARD).
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import type { BlockList } from '../../lib/net/types';
import { Lab, netnsUnavailable, toolMissing, type Netns } from '../support/netns';
import type { FlowNode } from '../support/red-runtime';
import { startChildRuntime, type ChildRuntime } from '../support/red-process';
import { errorText } from '../support/inline';
import { until } from '../support/wait';

const VIC = '10.77.1.1';
const ATK = '10.77.1.2';
const ATK_ALLOWED = '10.77.1.3';
const VIC6 = 'fd77:1::1';
const ATK6 = 'fd77:1::2';
const VIC_OTH = '10.77.2.1';
const OTH = '10.77.2.2';
const PORT = 8080;

interface Out {
  topic?: string;
  payload: BlockList;
  expired?: string[];
}

/** Node-RED with one iptables-block node ('blk') in a child process inside `ns`. */
class BlockRuntime {
  private constructor(private readonly rt: ChildRuntime) {}

  static async start(ns: Netns, config: Record<string, unknown>): Promise<BlockRuntime> {
    const flows: FlowNode[] = [
      { id: 'tab', type: 'tab', label: 'block' },
      {
        id: 'blk', type: 'iptables-block', z: 'tab', name: 'block under test', chain: 'IPS-BLOCK', setName: 'ips-block', table: 'ips',
        maxElem: 65536, durationS: 300, allowlist: `${ATK_ALLOWED}/32`, protectOwn: true, protectGateway: true, escalate: false,
        clearOnClose: false, dryRun: false, wires: [['out']], ...config,
      },
      { id: 'out', type: 'debug', z: 'tab', active: false, wires: [] },
      { id: 'catcher', type: 'catch', z: 'tab', scope: ['blk'], uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'debug', z: 'tab', active: false, wires: [] },
    ];
    return new BlockRuntime(await startChildRuntime(flows, ['out', 'caught'], { ns }));
  }

  /** Every blocklist message the node sent so far. */
  get outs(): Out[] {
    return this.rt.inbox('out').map((m) => m.msg as unknown as Out);
  }

  /** Deliver `msg` to the node; resolve with the next output or refusal. */
  async send(msg: Record<string, unknown>): Promise<{ out?: Out; error?: string }> {
    const [o, c] = [this.rt.inbox('out').length, this.rt.inbox('caught').length];
    await this.rt.inject('blk', msg);
    await until(() => this.rt.inbox('out').length > o || this.rt.inbox('caught').length > c, `an answer to ${JSON.stringify(msg)} (${this.rt.diagnostics()})`);
    const caught = this.rt.inbox('caught')[c];
    return { out: this.outs[o], error: caught ? errorText(caught) : undefined };
  }

  /** A config message: answered by nothing, applied before the next message. */
  configure(payload: Record<string, unknown>): Promise<void> {
    return this.rt.inject('blk', { topic: 'config', payload });
  }

  async list(): Promise<BlockList> {
    const r = await this.send({ topic: 'list' });
    assert.ok(r.out, `list failed: ${r.error}`);
    return r.out.payload;
  }

  /** Clean stop: Node-RED closes the node. */
  stop(): Promise<void> {
    return this.rt.stop();
  }

  /** Crash: no close handler runs. */
  kill(): Promise<void> {
    return this.rt.kill();
  }
}

async function ok(p: Promise<unknown>): Promise<boolean> {
  return p.then(() => true, () => false);
}

/** One echo request answered (up to three tries: "reachable" must not flake). */
async function pingOk(from: Netns, dst: string, src?: string): Promise<boolean> {
  const args = [...(dst.includes(':') ? ['-6'] : []), '-c', '1', '-W', '1', ...(src ? ['-I', src] : []), dst];
  for (let i = 0; i < 3; i++) if (await ok(from.exec('ping', args))) return true;
  return false;
}

/** Two echo requests, none answered. */
async function pingBlocked(from: Netns, dst: string): Promise<boolean> {
  return !(await ok(from.exec('ping', [...(dst.includes(':') ? ['-6'] : []), '-c', '2', '-W', '1', dst])));
}

async function httpOk(from: Netns, dst: string): Promise<boolean> {
  const host = dst.includes(':') ? `[${dst}]` : dst;
  return ok(from.exec('curl', ['-sf', '-o', '/dev/null', '-m', '2', `http://${host}:${PORT}/`]));
}

interface Hosts {
  lab: Lab;
  vic: Netns;
  atk: Netns;
  oth: Netns;
}

async function makeLab(): Promise<Hosts> {
  const lab = new Lab();
  try {
    const vic = await lab.host('vic');
    const atk = await lab.host('atk');
    const oth = await lab.host('oth');
    const { aIf, bIf } = await lab.link(vic, `${VIC}/24`, atk, `${ATK}/24`);
    await atk.exec('ip', ['addr', 'add', `${ATK_ALLOWED}/24`, 'dev', bIf]);
    await vic.exec('ip', ['-6', 'addr', 'add', `${VIC6}/64`, 'dev', aIf, 'nodad']);
    await atk.exec('ip', ['-6', 'addr', 'add', `${ATK6}/64`, 'dev', bIf, 'nodad']);
    await lab.link(vic, `${VIC_OTH}/24`, oth, `${OTH}/24`);
    await vic.exec('ip', ['route', 'add', 'default', 'via', OTH]);
    // The victim also routes between the two (a router's FORWARD path).
    await vic.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    await atk.exec('ip', ['route', 'add', '10.77.2.0/24', 'via', VIC]);
    await oth.exec('ip', ['route', 'add', '10.77.1.0/24', 'via', VIC_OTH]);
    // Rules of the user's that the node must leave alone.
    await vic.exec('iptables', ['-A', 'INPUT', '-p', 'tcp', '--dport', '9', '-m', 'comment', '--comment', 'user-rule', '-j', 'ACCEPT']);
    await vic.exec('ip6tables', ['-A', 'INPUT', '-p', 'tcp', '--dport', '9', '-m', 'comment', '--comment', 'user-rule', '-j', 'ACCEPT']);
    await vic.exec('nft', ['add', 'table', 'inet', 'user']);
    await vic.exec('nft', ['add', 'chain', 'inet', 'user', 'in', '{ type filter hook input priority 0; policy accept; }']);
    await vic.exec('nft', ['add', 'rule', 'inet', 'user', 'in', 'tcp', 'dport', '9', 'accept', 'comment', '"user-rule"']);
    vic.spawn(process.execPath, ['-e', `require('http').createServer((q, r) => r.end('ok')).listen(${PORT}, '::')`]);
    await until(() => httpOk(oth, VIC_OTH), 'the HTTP server in the victim namespace');
    return { lab, vic, atk, oth };
  } catch (err) {
    await lab.cleanup();
    throw err;
  }
}

/** The user's own rules, as listed in the victim namespace. */
async function userRules(vic: Netns): Promise<number> {
  const v4 = (await vic.exec('iptables', ['-S', 'INPUT'])).stdout;
  const v6 = (await vic.exec('ip6tables', ['-S', 'INPUT'])).stdout;
  const nft = (await vic.exec('nft', ['list', 'table', 'inet', 'user'])).stdout;
  return [v4, v6, nft].filter((t) => t.includes('user-rule')).length;
}

/** How often `ip` is in the backend's kernel state (a duplicate would show as 2). */
async function kernelCount(vic: Netns, backend: string, ip: string): Promise<number> {
  const family6 = ip.includes(':');
  let text: string;
  if (backend === 'ipset') text = (await vic.exec('ipset', ['list', family6 ? 'ips-block-v6' : 'ips-block-v4', '-o', 'save'])).stdout;
  else if (backend === 'nftables') text = (await vic.exec('nft', ['list', 'set', 'inet', 'ips', family6 ? 'block6' : 'block4'])).stdout;
  else text = (await vic.exec(family6 ? 'ip6tables' : 'iptables', ['-S', 'IPS-BLOCK'])).stdout;
  return text.split(/[\s,{}/]+/).filter((w) => w === ip).length;
}

/** Whether anything the node creates is left in the namespace. */
async function leftovers(vic: Netns): Promise<string[]> {
  const found: string[] = [];
  if ((await vic.exec('iptables', ['-S'])).stdout.includes('IPS-BLOCK')) found.push('iptables chain');
  if ((await vic.exec('ip6tables', ['-S'])).stdout.includes('IPS-BLOCK')) found.push('ip6tables chain');
  if ((await vic.exec('ipset', ['list', '-n'])).stdout.includes('ips-block')) found.push('ipset sets');
  if (/inet ips\b/.test((await vic.exec('nft', ['list', 'tables'])).stdout)) found.push('nft table');
  return found;
}

let skip: string | null = null;
before(async () => {
  skip = (await netnsUnavailable()) ?? (await toolMissing('ping', 'curl', 'iptables', 'ip6tables', 'ipset', 'nft'));
});

for (const backend of ['ipset', 'nftables', 'iptables'] as const) {
  describe(`iptables-block, ${backend} backend, real kernel`, () => {
    it('blocks an attacker from an alert, refuses protected addresses, unblocks, expires, survives a restart and cleans up only its own', async (t) => {
      if (skip) return t.skip(skip);
      const hosts = await makeLab();
      const { lab, vic, atk, oth } = hosts;
      let rt: BlockRuntime | null = null;
      try {
        rt = await BlockRuntime.start(vic, { backend });
        assert.ok(await pingOk(atk, VIC), 'attacker reaches the victim before any block');
        assert.ok(await pingOk(atk, OTH), 'and, routed through it, the other host');
        assert.ok(await httpOk(atk, VIC));

        // An alert blocks its offender: ping and TCP fail from it, still work from elsewhere.
        const alert = { ts: Date.now(), rule: 'scan.vertical', sid: 3, signature: 'port scan', category: 'scan', severity: 'high', action: 'drop',
          src: ATK, dst: VIC, offender: ATK, proto: 'tcp', count: 200, windowMs: 10_000, threshold: 50, reason: '200 ports in 10 s', detector: 'scan' };
        const r1 = await rt.send({ topic: 'scan.vertical', payload: alert });
        assert.deepEqual(r1.out?.payload.blocked.map((b) => [b.ip, b.rule, b.reason]), [[ATK, 'scan.vertical', '200 ports in 10 s']], r1.error);
        assert.ok(await pingBlocked(atk, VIC), 'ping from the blocked attacker fails');
        assert.ok(!(await httpOk(atk, VIC)), 'TCP from the blocked attacker fails');
        assert.ok(await pingBlocked(atk, OTH), 'traffic the victim would route for the attacker is dropped too (FORWARD)');
        assert.ok(await pingOk(oth, VIC_OTH), 'another host still gets through');
        assert.ok(await httpOk(oth, VIC_OTH));
        assert.ok(await pingOk(atk, VIC, ATK_ALLOWED), "the attacker's other, unblocked address still gets through");

        // IPv6 goes through ip6tables / the ip6 set.
        await rt.send({ payload: { ip: ATK6, action: 'block', reason: 'v6 check' } });
        assert.ok(await pingBlocked(atk, VIC6), 'IPv6 ping from the blocked address fails');
        assert.ok(!(await httpOk(atk, VIC6)));

        // Never the allowlist, the box's own address, or its gateway.
        for (const [ip, why] of [[ATK_ALLOWED, /allowlist/], [VIC, /own addresses/], [OTH, /default gateway/], ['10.77.1.256', /invalid IP address/]] as const) {
          const r = await rt.send({ payload: { ip, action: 'block' } });
          assert.match(r.error ?? '', why, ip);
        }
        assert.ok(await pingOk(oth, VIC_OTH), 'the gateway was not blocked');
        assert.ok(await pingOk(atk, VIC, ATK_ALLOWED), 'the allowlisted address was not blocked');

        // Unblock restores.
        await rt.send({ topic: 'unblock', payload: ATK });
        assert.ok(await pingOk(atk, VIC), 'unblocked attacker reaches the victim again');
        assert.ok(await httpOk(atk, VIC));

        // A 2-second block ends by itself.
        await rt.send({ payload: { ip: ATK, action: 'block', durationS: 2 } });
        assert.ok(await pingBlocked(atk, VIC), 'blocked during the 2 s');
        if (backend !== 'iptables') {
          // The kernel's set timeout: it ends even with Node-RED gone.
          await rt.kill();
          rt = null;
        }
        await until(() => pingOk(atk, VIC), 'the 2-second block to end', 15_000);
        if (rt) await until(() => rt!.outs.some((o) => o.expired?.includes(ATK)), 'the node to report the expiry');
        rt ??= await BlockRuntime.start(vic, { backend });

        // A restart keeps blocks, with the time left, once each.
        const before = Date.now();
        await rt.send({ payload: { ip: ATK, action: 'block', durationS: 300, reason: 'restart check' } });
        await rt.stop();
        rt = null;
        assert.ok(await pingBlocked(atk, VIC), 'still blocked while Node-RED is stopped');
        rt = await BlockRuntime.start(vic, { backend });
        const listed = (await rt.list()).blocked;
        const e = listed.find((b) => b.ip === ATK);
        assert.ok(e, `restored after restart: ${JSON.stringify(listed)}`);
        assert.equal(e.reason, 'restart check');
        assert.ok(e.expires > Date.now() && e.expires <= before + 301_000, `time left is kept (${e.expires - Date.now()} ms)`);
        assert.ok(listed.some((b) => b.ip === ATK6 && b.reason === 'v6 check'), 'the IPv6 block is restored too');
        assert.ok(await pingBlocked(atk, VIC), 'still blocked after the restart');
        await rt.send({ payload: { ip: ATK, action: 'block', reason: 'again' } });
        assert.equal(await kernelCount(vic, backend, ATK), 1, 'one kernel entry after restart and re-block');

        // Clear unblocks everything; the user's rules stay.
        const cleared = await rt.send({ topic: 'clear' });
        assert.deepEqual(cleared.out?.payload.blocked, []);
        assert.ok(await pingOk(atk, VIC));
        assert.ok(await pingOk(atk, VIC6));
        assert.equal(await userRules(vic), 3, "the user's INPUT rules survive start, stop and clear");
        await rt.stop();
        rt = null;

        // Clear-on-close removes everything the node created, and nothing else.
        rt = await BlockRuntime.start(vic, { backend, clearOnClose: true });
        await rt.send({ payload: { ip: ATK, action: 'block' } });
        assert.ok(await pingBlocked(atk, VIC));
        await rt.stop();
        rt = null;
        assert.deepEqual(await leftovers(vic), [], 'nothing of the node is left');
        assert.equal(await userRules(vic), 3, "the user's rules are still there");
        assert.ok(await pingOk(atk, VIC));
      } finally {
        await rt?.kill();
        await lab.cleanup();
      }
    });
  });
}

/**
 * A router blocking a LAN device by its MAC:
 *
 *   dev1 10.78.1.2 / fd78:1::2 (MAC1) ── rtr 10.78.1.1 / fd78:1::1 (RTR_MAC)
 *   dev2 10.78.2.2 (MAC2)             ── rtr 10.78.2.1
 *   up   10.78.3.2 (UP_MAC, rtr's default gateway) ── rtr 10.78.3.1
 */
const MAC1 = '02:78:00:00:01:02';
const MAC2 = '02:78:00:00:02:02';
const RTR_MAC = '02:78:00:00:01:01';
const UP_MAC = '02:78:00:00:03:02';
const RTR1 = '10.78.1.1';
const RTR1_6 = 'fd78:1::1';
const UP = '10.78.3.2';

async function makeRouterLab(): Promise<{ lab: Lab; rtr: Netns; dev1: Netns; dev2: Netns }> {
  const lab = new Lab();
  try {
    const rtr = await lab.host('rtr');
    const dev1 = await lab.host('dev1');
    const dev2 = await lab.host('dev2');
    const up = await lab.host('up');
    const l1 = await lab.link(rtr, `${RTR1}/24`, dev1, '10.78.1.2/24', { aMac: RTR_MAC, bMac: MAC1 });
    await rtr.exec('ip', ['-6', 'addr', 'add', `${RTR1_6}/64`, 'dev', l1.aIf, 'nodad']);
    await dev1.exec('ip', ['-6', 'addr', 'add', 'fd78:1::2/64', 'dev', l1.bIf, 'nodad']);
    // A second address on dev1: a block by MAC holds whatever source address the device uses.
    await dev1.exec('ip', ['addr', 'add', '10.78.1.9/24', 'dev', l1.bIf]);
    await lab.link(rtr, '10.78.2.1/24', dev2, '10.78.2.2/24', { bMac: MAC2 });
    await lab.link(rtr, '10.78.3.1/24', up, `${UP}/24`, { bMac: UP_MAC });
    await rtr.exec('ip', ['route', 'add', 'default', 'via', UP]);
    await rtr.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    await dev1.exec('ip', ['route', 'add', 'default', 'via', RTR1]);
    await dev2.exec('ip', ['route', 'add', 'default', 'via', '10.78.2.1']);
    await up.exec('ip', ['route', 'add', '10.78.0.0/16', 'via', '10.78.3.1']);
    // The gateway's MAC is protected once the neighbour table knows it.
    assert.ok(await pingOk(rtr, UP), 'the router reaches its gateway');
    return { lab, rtr, dev1, dev2 };
  } catch (err) {
    await lab.cleanup();
    throw err;
  }
}

for (const backend of ['ipset', 'nftables', 'iptables'] as const) {
  describe(`iptables-block by MAC, ${backend} backend, real kernel`, () => {
    it("a device blocked by its MAC loses the router and the way through it, whatever address it uses, while another passes; unblock and expiry restore it", async (t) => {
      if (skip) return t.skip(skip);
      const { lab, rtr, dev1, dev2 } = await makeRouterLab();
      let rt: BlockRuntime | null = null;
      try {
        rt = await BlockRuntime.start(rtr, { backend });
        assert.ok(await pingOk(dev1, UP), 'dev1 gets through the router before any block');
        assert.ok(await pingOk(dev2, UP));
        if (backend === 'ipset' && !(await ok(rtr.exec('ipset', ['create', 'mac-probe', 'hash:mac'])))) {
          // A kernel without ip_set_hash_mac (this test machine's, for one): the node runs, and says why it cannot block a MAC.
          const r = await rt.send({ payload: { ip: MAC1, action: 'block' } });
          assert.match(r.error ?? '', /no ipset hash:mac sets .*use the nftables or iptables backend/);
          assert.ok(await pingOk(dev1, UP), 'nothing was blocked');
          assert.deepEqual((await rt.list()).blocked, []);
          return;
        }

        // A LAN spoofing alert names the device by its MAC.
        const alert = { ts: Date.now(), rule: 'lan.spoof.gateway', sid: 1000401, signature: "LAN spoofing: a MAC claims the gateway's address", category: 'lan', severity: 'high', action: 'drop',
          src: '10.78.1.2', dst: RTR1, srcMac: MAC1, offender: MAC1, proto: 'arp', count: 1, windowMs: 0, threshold: 1, reason: `${MAC1} claims ${RTR1}`, detector: 'lan-watch' };
        const r1 = await rt.send({ topic: alert.rule, payload: alert });
        assert.deepEqual(r1.out?.payload.blocked.map((b) => [b.ip, b.rule]), [[MAC1, 'lan.spoof.gateway']], r1.error);
        assert.ok(await pingBlocked(dev1, UP), "dev1's traffic through the router stops (FORWARD)");
        assert.ok(await pingBlocked(dev1, RTR1), 'and to the router itself (INPUT)');
        assert.ok(await pingBlocked(dev1, RTR1_6), 'over IPv6 too');
        assert.ok(!(await pingOk(dev1, UP, '10.78.1.9')), 'and from its other address');
        assert.ok(await pingOk(dev2, UP), 'another device still passes');

        // Never the router's own MAC, its gateway's, or no single device's.
        for (const [ip, why] of [[RTR_MAC, /own interfaces/], [UP_MAC, /default gateway 10\.78\.3\.2/], ['ff:ff:ff:ff:ff:ff', /broadcast/], ['01:00:5e:00:00:01', /multicast/], ['00:00:00:00:00:00', /zero/], ['02-78-00-00-02-02', /invalid IP address/]] as const) {
          const r = await rt.send({ payload: { ip, action: 'block' } });
          assert.match(r.error ?? '', why, ip);
        }
        assert.ok(await pingOk(dev2, UP), 'the gateway was not blocked');

        // A restart reads the MAC block back from the kernel.
        await rt.stop();
        rt = await BlockRuntime.start(rtr, { backend });
        assert.deepEqual((await rt.list()).blocked.map((b) => [b.ip, b.reason]), [[MAC1, `${MAC1} claims ${RTR1}`]]);

        // Unblock (as the dashboard does) restores it.
        const u = await rt.send({ topic: 'unblock', payload: MAC1 });
        assert.deepEqual(u.out?.payload.blocked, [], u.error);
        assert.ok(await pingOk(dev1, UP), 'unblocked, dev1 gets through again');
        assert.ok(await pingOk(dev1, RTR1));

        // A 2-second MAC block ends by itself.
        await rt.send({ payload: { ip: MAC2.toUpperCase(), action: 'block', durationS: 2 } });
        assert.ok(await pingBlocked(dev2, UP), 'dev2 blocked during the 2 s');
        await until(() => pingOk(dev2, UP), 'the 2-second MAC block to end', 15_000);
        await until(() => rt!.outs.some((o) => o.expired?.includes(MAC2)), 'the node to report the expiry');
      } finally {
        await rt?.kill();
        await lab.cleanup();
      }
    });
  });
}

describe('iptables-block moving its blocks to another backend, real kernel', () => {
  it('a config with another backend keeps each block with its time left and removes the old sets and chains', async (t) => {
    if (skip) return t.skip(skip);
    const { lab, vic, atk } = await makeLab();
    let rt: BlockRuntime | null = null;
    try {
      rt = await BlockRuntime.start(vic, { backend: 'ipset' });
      const r = await rt.send({ payload: { ip: ATK, action: 'block', durationS: 300, reason: 'moving' } });
      const blocked = r.out?.payload.blocked.find((b) => b.ip === ATK);
      assert.ok(blocked, r.error);
      assert.ok(await pingBlocked(atk, VIC));

      // ipset -> plain rules share the chain IPS-BLOCK; then -> nftables shares nothing.
      for (const backend of ['iptables', 'nftables'] as const) {
        await rt.configure({ backend });
        const e: BlockList['blocked'][number] | undefined = (await rt.list()).blocked.find((b) => b.ip === ATK);
        assert.deepEqual(e && [e.reason, e.rule, e.since, e.expires], ['moving', 'manual', blocked.since, blocked.expires], `${backend}: listed as before`);
        assert.equal(await kernelCount(vic, backend, ATK), 1, `${backend} holds the block`);
        assert.ok(await pingBlocked(atk, VIC), `${backend}: still blocked`);
      }
      // 300 s were asked a few seconds ago: the kernel got what was left, not 300 s afresh.
      assert.match((await vic.exec('nft', ['list', 'set', 'inet', 'ips', 'block4'])).stdout, /10\.77\.1\.2 timeout 4m\d+s expires 4m/, 'nftables has the block with its time left');
      assert.deepEqual(await leftovers(vic), ['nft table'], 'the ipset sets and the iptables chains are gone');

      await rt.send({ topic: 'unblock', payload: ATK });
      assert.ok(await pingOk(atk, VIC), 'the node still controls the block it moved');
    } finally {
      await rt?.kill();
      await lab.cleanup();
    }
  });
});
