/**
 * The shipped router flow (flows/router-ips.json) in a real Node-RED with the
 * pack and node-red-dashboard installed, run inside a network namespace (as
 * on the router: conntrack, NFQUEUE and the firewall are per namespace): it
 * deploys with every type known and no node errors, and the blocklist starts
 * in dry run by default.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Lab, netnsUnavailable } from '../support/netns';
import { startChildRuntime, type ChildRuntime } from '../support/child-runtime';
import { packageRoot } from '../support/runtime';
import { shippedFlow } from '../support/browser';

describe('flows/router-ips.json', () => {
  const flow = shippedFlow('router-ips');

  it('is what scripts/make-flows.js generates', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const gen = require(path.join(packageRoot, 'scripts', 'make-flows.js')) as { outputs(): Record<string, string> };
    assert.deepEqual(JSON.parse(gen.outputs()['router-ips.json']), flow);
  });

  describe('deployed inside a router namespace', async () => {
    const skip = await netnsUnavailable();
    let lab: Lab;
    let rt: ChildRuntime;
    before(async () => {
      if (skip) return;
      lab = new Lab();
      const router = await lab.host('router');
      rt = await startChildRuntime(flow, ['router.device-view', 'router.stamp-blocklist', 'router.blocklist'], {
        ns: router,
        modules: ['node-red-dashboard'],
        env: { ...process.env, IPS_LAN_CIDR: '10.99.0.0/24' },
        timeoutMs: 60_000,
      });
    });
    after(async () => {
      await rt?.stop();
      await lab?.cleanup();
    });

    it('deploys with every type known and no errors; the blocklist is a dry run', { skip: skip ?? false }, async () => {
      const list = await rt.waitFor('router.stamp-blocklist', (m) => m.length > 0, 30_000);
      assert.deepEqual((list[0].msg.payload as { blocked: unknown[] }).blocked, []);
      // what the blocklist view shows: dry run, as IPS_BLOCK_DRYRUN is not 'false'
      const view = await rt.waitFor('router.blocklist', (m) => m.length > 0, 30_000);
      assert.equal((view[0].msg.payload as { dryRun: boolean }).dryRun, true);
      assert.equal(rt.errors.length, 0, rt.diagnostics());
      const bad = rt.log.filter((l) => /missing types|Waiting for missing|\[error\]/.test(l));
      assert.deepEqual(bad, [], rt.diagnostics());
    });
  });
});
