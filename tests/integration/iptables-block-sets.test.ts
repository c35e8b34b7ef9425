/**
 * Set sizes against the real kernel, driven through lib/net/firewall with
 * the commands run inside a fresh namespace (NetnsRunner): raising the size
 * of an existing set keeps its blocks (ipset has to copy and swap; nftables
 * changes it in place), and a full set says so.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, netnsUnavailable, toolMissing } from '../support/netns';
import { Blocklist, ExecRunner, NetnsRunner, createBackend, type BackendKind } from '../../lib/net/firewall';

let skip: string | null = null;
before(async () => {
  skip = (await netnsUnavailable()) ?? (await toolMissing('ipset', 'nft', 'iptables', 'ip6tables'));
});

function blocklist(runner: NetnsRunner, backend: BackendKind, maxElem: number): Blocklist {
  return new Blocklist({ backend: createBackend(runner, { backend, chain: 'IPS-BLOCK', setName: 'ips-block', table: 'ips', maxElem }), defaultDurationS: 600 });
}

describe('iptables-block set sizes, real kernel', () => {
  for (const backend of ['ipset', 'nftables'] as const) {
    it(`${backend}: a larger size on restart keeps every block with its time left; a full set is refused with the kernel's words`, async (t) => {
      if (skip) return t.skip(skip);
      const lab = new Lab();
      try {
        const ns = await lab.host('set');
        const runner = new NetnsRunner(new ExecRunner(), ns.name);
        const small = blocklist(runner, backend, 3);
        await small.start();
        await small.block({ ip: '10.0.0.1', reason: 'one', rule: 'flood.syn' });
        await small.block({ ip: '10.0.0.2', durationS: 0 });
        await small.block({ ip: 'fd00::3', reason: 'six' });
        await small.block({ ip: '10.0.0.3' });
        await assert.rejects(small.block({ ip: '10.0.0.4' }), /the set is full: raise the node's set size/, 'the fourth IPv4 entry does not fit');

        const big = blocklist(runner, backend, 200_000);
        const restored = await big.start();
        assert.equal(restored.restored, 4);
        const byIp = new Map(big.list().blocked.map((e) => [e.ip, e]));
        assert.equal(byIp.get('10.0.0.1')?.reason, 'one');
        assert.equal(byIp.get('10.0.0.2')?.expires, 0, 'the permanent block stays permanent');
        assert.ok((byIp.get('fd00::3')?.expires ?? 0) > Date.now(), 'time left is kept');
        await big.block({ ip: '10.0.0.4' });
        await big.block({ ip: '10.0.0.5' });
        assert.equal(big.list().blocked.length, 6);
        const header = backend === 'ipset'
          ? (await ns.exec('ipset', ['list', '-t', 'ips-block-v4'])).stdout
          : (await ns.exec('nft', ['list', 'set', 'inet', 'ips', 'block4'])).stdout;
        assert.match(header, backend === 'ipset' ? /maxelem 200000/ : /size 200000/);
        if (backend === 'ipset') {
          // The DROP rule still points at the (swapped) set.
          assert.match((await ns.exec('iptables', ['-S', 'IPS-BLOCK'])).stdout, /--match-set ips-block-v4 src -j DROP/);
          assert.doesNotMatch((await ns.exec('ipset', ['list', '-n'])).stdout, /ips-tmp/);
        }
      } finally {
        await lab.cleanup();
      }
    });
  }
});
