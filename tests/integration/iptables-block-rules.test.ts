/**
 * Who would be blocked: one alert of every rule of every catalog, raised by
 * the real engines (tests/support/rule-alerts.ts), sent to iptables-block in
 * dry-run in a real Node-RED. The offender of each rule that has one is
 * blocked and nobody else; an alert without one (a flood at one target from
 * many sources, an all-clear) is refused with the reason and blocks nobody,
 * neither its src nor its dst.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRuntime, type ReceivedMessage, type Runtime } from '../support/red-runtime';
import { everyRuleAlert, everyRuleId } from '../support/rule-alerts';
import { toolMissing } from '../support/netns';
import type { BlockList } from '../../lib/net/types';

interface BlockOut {
  payload: BlockList;
  results: { action: string; ip?: string }[];
  commands: string[];
}

describe("every rule's alert through iptables-block (dry-run, real Node-RED)", async () => {
  // own addresses and gateways are read with `ip`, even in dry-run
  const skip = await toolMissing('ip');
  const all = everyRuleAlert();
  // MAC offenders (the LAN spoofing and per-MAC flood rules) go to the MAC set, IPs to their family's
  const cases = all;
  let rt: Runtime;
  before(async () => {
    if (skip) return;
    rt = await startRuntime([
      { id: 'tab', type: 'tab', label: 'block' },
      { id: 'blk', type: 'iptables-block', z: 'tab', name: 'block', dryRun: true, durationS: 600, wires: [['out']] },
      { id: 'out', type: 'debug', z: 'tab', active: false, wires: [] },
      { id: 'catcher', type: 'catch', z: 'tab', scope: ['blk'], uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'debug', z: 'tab', active: false, wires: [] },
    ]);
  });
  after(async () => {
    await rt?.stop();
  });

  it('covers every rule of every catalog, shipped payload rules and user rules included', () => {
    assert.deepEqual(all.map((c) => c.rule).sort(), everyRuleId().sort());
  });

  it('blocks the offender of each rule that has one, and nobody for those without', { skip: skip ?? false }, async () => {
    const out = rt.inbox('out');
    const caught = rt.inbox('caught');
    const blk = rt.RED.nodes.getNode('blk') as { receive(msg: object): void };
    const seen: { rule: string; blocked: string[]; commands: string[]; refusal: string }[] = [];
    for (const c of cases) {
      const [o, e] = [out.length, caught.length];
      blk.receive({ topic: c.alert.rule, payload: c.alert });
      await rt.waitFor('blk', () => out.length > o || caught.length > e);
      const sent = out[o]?.msg as unknown as BlockOut | undefined;
      const error = (caught[e] as ReceivedMessage | undefined)?.msg.error as { message?: string } | undefined;
      seen.push({
        rule: c.rule,
        blocked: (sent?.results ?? []).filter((r) => r.action === 'block').map((r) => r.ip ?? ''),
        commands: sent?.commands ?? [],
        refusal: error?.message ?? '',
      });
    }
    // who: the one to blame, or nobody
    assert.deepEqual(seen.map((s) => [s.rule, s.blocked]), cases.map((c) => [c.rule, c.blame === null ? [] : [c.blame]]));
    for (const [i, c] of cases.entries()) {
      const s = seen[i];
      if (c.blame === null) {
        assert.match(s.refusal, new RegExp(`alert ${c.rule.replace(/\./g, '\\.')} names no offender: .*neither its src ${c.alert.src} nor its dst`), c.rule);
      } else {
        assert.equal(s.refusal, '', c.rule);
        // the one command run names the offender only
        assert.equal(s.commands.length, 1, `${c.rule}: ${s.commands.join(' | ')}`);
        assert.match(s.commands[0], new RegExp(`^ipset add ips-block-(?:v[46]|hw) ${c.blame.replace(/\./g, '\\.')} timeout 600 `), c.rule);
      }
    }
    const before = out.length;
    blk.receive({ topic: 'list' });
    await rt.waitFor('out', (m) => m.length > before);
    const listed = (out.at(-1)!.msg.payload as BlockList).blocked.map((b) => b.ip).sort();
    assert.deepEqual(listed, [...new Set(cases.flatMap((c) => (c.blame === null ? [] : [c.blame])))].sort());
  });
});
