/**
 * scripts/nfqueue-enable.sh and nfqueue-disable.sh in fresh network
 * namespaces: idempotent, the rules are what the kernel uses (a real queue
 * sees the traffic), and disabling restores the ruleset exactly as it was,
 * leaving other rules alone. Arguments are validated before anything runs.
 */
import path from 'node:path';
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, netnsUnavailable, toolMissing, type Netns } from '../support/netns';
import { disableScript, enableScript } from '../support/inline';
import { runInVm, vmKernel } from '../support/vm';
import { packageRoot } from '../support/red-runtime';

/** The enable script's input rule for queue 13 with bypass, as nft lists it (1.0.6 prints 'queue flags bypass to 13'; older ones 'queue num 13 bypass'). */
const NFT_QUEUE_13_BYPASS = /table inet ips_nfqueue_13 {\s*chain input {[^}]*queue (?:flags bypass to 13|num 13 bypass)/;

let skip: string | null = null;
let nftQueueMissing: string | null = null;
before(async () => {
  skip = (await netnsUnavailable()) ?? (await toolMissing('iptables', 'ip6tables', 'nft'));
  if (skip) return;
  // nftables' queue statement needs CONFIG_NFT_QUEUE (iptables' NFQUEUE target is separate)
  const lab = new Lab();
  try {
    const probe = await lab.host('nftq');
    try {
      await probe.exec('nft', ['add', 'table', 'inet', 'probe']);
      await probe.exec('nft', ['add', 'chain', 'inet', 'probe', 'c', '{ type filter hook input priority 0; }']);
      await probe.exec('nft', ['add', 'rule', 'inet', 'probe', 'c', 'queue', 'num', '1', 'bypass']);
    } catch {
      nftQueueMissing = 'kernel lacks nftables queue support (CONFIG_NFT_QUEUE / nft_queue)';
    }
  } finally {
    await lab.cleanup();
  }
});

/** Everything that could change: both iptables families and the whole nftables ruleset. */
async function ruleset(ns: Netns): Promise<string> {
  const strip = (s: string): string => s.split('\n').filter((l) => !l.startsWith('#')).join('\n');
  const v4 = strip((await ns.exec('iptables-save', [])).stdout);
  const v6 = strip((await ns.exec('ip6tables-save', [])).stdout);
  const nft = (await ns.exec('nft', ['list', 'ruleset'])).stdout;
  return `${v4}\n--\n${v6}\n--\n${nft}`;
}

async function withNs(fn: (ns: Netns) => Promise<void>): Promise<void> {
  const lab = new Lab();
  try {
    await fn(await lab.host('fw'));
  } finally {
    await lab.cleanup();
  }
}

async function failsWith(ns: Netns, script: string, args: string[], pattern: RegExp): Promise<void> {
  await assert.rejects(ns.exec(script, args), (err: { code?: number; stderr?: string }) => {
    assert.equal(err.code, 2);
    assert.match(err.stderr ?? '', pattern);
    return true;
  });
}

describe('nfqueue enable/disable scripts', () => {
  test('iptables: idempotent, tagged, bypass by default, and disable restores the ruleset exactly', async (t) => {
    if (skip) return t.skip(skip);
    for (const existing of [false, true]) {
      await withNs(async (ns) => {
        if (existing) {
          // a router with rules of its own, which must survive untouched
          await ns.exec('iptables', ['-A', 'INPUT', '-s', '192.0.2.7', '-j', 'DROP']);
          await ns.exec('ip6tables', ['-A', 'FORWARD', '-s', '2001:db8::7', '-j', 'DROP']);
          await ns.exec('nft', ['add', 'table', 'inet', 'mine']);
        }
        const before = await ruleset(ns);
        await ns.exec(enableScript, ['--queue', '12']);
        const once = await ruleset(ns);
        await ns.exec(enableScript, ['--queue', '12']);
        assert.equal(await ruleset(ns), once, 'second enable changes nothing');
        for (const cmd of ['iptables', 'ip6tables']) {
          const rules = (await ns.exec(cmd, ['-t', 'mangle', '-S'])).stdout;
          for (const chain of ['INPUT', 'FORWARD']) {
            assert.match(rules, new RegExp(`-A ${chain} -m comment --comment node-red-contrib-ips-nfqueue-12 -j NFQUEUE --queue-num 12 --queue-bypass`));
          }
          assert.doesNotMatch(rules, /-A OUTPUT .*NFQUEUE/);
        }
        await ns.exec(disableScript, ['--queue', '12']);
        assert.equal(await ruleset(ns), before, 'disable removes exactly what enable added');
        await ns.exec(disableScript, ['--queue', '12']);
        assert.equal(await ruleset(ns), before, 'disable twice is harmless');
      });
    }
  });

  test('iptables: queues are independent; --fail-closed replaces bypass; --table moves the rule; disabling one leaves the other', async (t) => {
    if (skip) return t.skip(skip);
    await withNs(async (ns) => {
      const before = await ruleset(ns);
      await ns.exec(enableScript, ['--queue', '1', '--chains', 'INPUT', '--family', '4']);
      await ns.exec(enableScript, ['--queue', '2', '--chains', 'OUTPUT,FORWARD', '--family', '4', '--fail-closed']);
      await ns.exec(enableScript, ['--queue', '1', '--chains', 'INPUT', '--family', '4', '--fail-closed']);
      let rules = (await ns.exec('iptables', ['-t', 'mangle', '-S'])).stdout;
      assert.match(rules, /-A INPUT -m comment --comment node-red-contrib-ips-nfqueue-1 -j NFQUEUE --queue-num 1\n/);
      assert.equal((rules.match(/nfqueue-1 /g) ?? []).length, 1, 'replaced, not duplicated');
      assert.match(rules, /-A OUTPUT -m comment --comment node-red-contrib-ips-nfqueue-2 -j NFQUEUE --queue-num 2\n/);
      // --table filter moves queue 2 from mangle to filter
      await ns.exec(enableScript, ['--queue', '2', '--chains', 'OUTPUT,FORWARD', '--family', '4', '--fail-closed', '--table', 'filter']);
      assert.doesNotMatch((await ns.exec('iptables', ['-t', 'mangle', '-S'])).stdout, /nfqueue-2/);
      assert.match((await ns.exec('iptables', ['-S'])).stdout, /-A OUTPUT -m comment --comment node-red-contrib-ips-nfqueue-2 -j NFQUEUE --queue-num 2\n/);
      await ns.exec(disableScript, ['--queue', '1']);
      rules = (await ns.exec('iptables', ['-t', 'mangle', '-S'])).stdout + (await ns.exec('iptables', ['-S'])).stdout;
      assert.doesNotMatch(rules, /nfqueue-1/);
      assert.match(rules, /nfqueue-2/);
      await ns.exec(disableScript, ['--queue', '2']);
      assert.equal(await ruleset(ns), before);
    });
  });

  test('refuses bad arguments with the reason and changes nothing', async (t) => {
    if (skip) return t.skip(skip);
    await withNs(async (ns) => {
      const before = await ruleset(ns);
      await failsWith(ns, enableScript, ['--queue', '65536'], /queue must be a number from 0 to 65535/);
      await failsWith(ns, enableScript, ['--queue', '1;reboot'], /queue must be a number/);
      await failsWith(ns, enableScript, ['--chains', 'INPUT,PREROUTING'], /chains must be a comma list of INPUT, FORWARD, OUTPUT/);
      await failsWith(ns, enableScript, ['--backend', 'pf'], /backend must be 'iptables' or 'nftables'/);
      await failsWith(ns, enableScript, ['--family', '5'], /family must be 4, 6 or both/);
      await failsWith(ns, enableScript, ['--table', 'nat'], /table must be 'mangle' or 'filter'/);
      await failsWith(ns, disableScript, ['--bogus'], /unknown argument/);
      assert.equal(await ruleset(ns), before);
    });
  });

  test('nftables: own table, idempotent, removed exactly', async (t) => {
    if (skip) return t.skip(skip);
    if (nftQueueMissing) return t.skip(nftQueueMissing);
    await withNs(async (ns) => {
      await ns.exec('nft', ['add', 'table', 'inet', 'mine']);
      const before = await ruleset(ns);
      await ns.exec(enableScript, ['--backend', 'nftables', '--queue', '13']);
      const once = await ruleset(ns);
      assert.match(once, NFT_QUEUE_13_BYPASS);
      await ns.exec(enableScript, ['--backend', 'nftables', '--queue', '13']);
      assert.equal(await ruleset(ns), once);
      await ns.exec(disableScript, ['--backend', 'nftables', '--queue', '13']);
      assert.equal(await ruleset(ns), before);
    });
  });

  // This machine's kernel lacks nft_queue, so the nftables backend also runs on Debian's stock kernel in a VM.
  test('nftables on a kernel with queue support (Debian kernel under qemu): own table, idempotent, removed exactly, and the rule is what the kernel uses', async (t) => {
    const kernel = vmKernel();
    if (typeof kernel === 'string') return t.skip(kernel);
    const missing = await toolMissing('qemu-system-x86_64', 'busybox', 'ldd');
    if (missing) return t.skip(missing);
    const scripts = ['nfqueue-enable.sh', 'nfqueue-disable.sh', 'nfqueue-common.sh'];
    // Each step prints its exit code, the ping's (one echo over lo, which crosses INPUT) and the ruleset.
    const script = [
      'step() { name=$1; shift; "$@" > /tmp/out 2>&1; rc=$?; cat /tmp/out; ping -c 1 -W 1 127.0.0.1 > /dev/null 2>&1; echo "@@step $name rc=$rc ping=$?"; nft list ruleset; echo "@@done $name"; }',
      'nft add table inet mine',
      'step before true',
      'step enable bash /ips/nfqueue-enable.sh --backend nftables --queue 13',
      'step again bash /ips/nfqueue-enable.sh --backend nftables --queue 13',
      'step disable bash /ips/nfqueue-disable.sh --backend nftables --queue 13',
      // fail-closed with no program on the queue: the kernel drops what the rule queues
      'step closed bash /ips/nfqueue-enable.sh --backend nftables --queue 13 --fail-closed',
      'step reopened bash /ips/nfqueue-disable.sh --backend nftables --queue 13',
    ].join('\n');
    const out = await runInVm(kernel, {
      binaries: ['bash', 'nft'],
      files: scripts.map((f) => [path.join(packageRoot, 'scripts', f), `/ips/${f}`]),
      modules: ['nf_tables', 'nfnetlink_queue', 'nft_queue'],
      script,
    });
    assert.doesNotMatch(out, /@@vm insmod failed/);
    const steps = new Map<string, { rc: number; ping: number; ruleset: string }>();
    for (const m of out.matchAll(/@@step (\w+) rc=(\d+) ping=(\d+)\n([\s\S]*?)@@done \1/g)) steps.set(m[1], { rc: Number(m[2]), ping: Number(m[3]), ruleset: m[4] });
    const step = (name: string) => {
      const s = steps.get(name);
      assert.ok(s, `step ${name} missing from the VM's output:\n${out.slice(-3000)}`);
      return s;
    };
    const before = step('before');
    assert.match(before.ruleset, /table inet mine/);
    const once = step('enable');
    assert.equal(once.rc, 0, out);
    assert.match(once.ruleset, NFT_QUEUE_13_BYPASS);
    assert.equal(once.ping, 0, 'with bypass and no program on the queue, traffic flows');
    assert.equal(step('again').ruleset, once.ruleset);
    assert.equal(step('disable').ruleset, before.ruleset);
    const closed = step('closed');
    assert.equal(closed.rc, 0, out);
    assert.doesNotMatch(closed.ruleset, /bypass/);
    assert.notEqual(closed.ping, 0, 'fail-closed with no program on the queue: the queued echo is dropped');
    const reopened = step('reopened');
    assert.equal(reopened.ping, 0);
    assert.equal(reopened.ruleset, before.ruleset);
  });

  test('nftables on a kernel without queue support: a clear error and nothing left behind', async (t) => {
    if (skip) return t.skip(skip);
    if (!nftQueueMissing) return t.skip('this kernel has nftables queue support');
    await withNs(async (ns) => {
      const before = await ruleset(ns);
      await failsWith(ns, enableScript, ['--backend', 'nftables', '--queue', '13'], /lacks nftables queue support .*use --backend iptables/);
      assert.equal(await ruleset(ns), before);
    });
  });
});
