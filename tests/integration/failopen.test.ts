/**
 * Fail-open and fail-closed with a real kernel: a victim namespace whose
 * INPUT goes to NFQUEUE (the enable script), read by nfqueue-in in a real
 * Node-RED process inside it, pinged from a client namespace. Killing the
 * Node-RED process (SIGKILL, as a crash) leaves traffic flowing with the
 * bypass rule and stops it without.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, netnsUnavailable, toolMissing, type Netns } from '../support/netns';
import { startChildRuntime, type ChildRuntime } from '../support/red-process';
import { disableScript, dropUdpPort, enableScript, nfqueueNode, observers, pings, waitQueueBound } from '../support/inline';

const VIC = '10.232.0.1';
const CLI = '10.232.0.2';
const QUEUE = 11;

let skip: string | null = null;
before(async () => {
  skip = (await netnsUnavailable()) ?? (await toolMissing('iptables', 'ping'));
});

async function scenario(extra: string[], check: (vic: Netns, cli: Netns, rt: ChildRuntime) => Promise<void>): Promise<void> {
  const lab = new Lab();
  try {
    const vic = await lab.host('vic');
    const cli = await lab.host('cli');
    await lab.link(vic, `${VIC}/24`, cli, `${CLI}/24`);
    await vic.exec(enableScript, ['--queue', String(QUEUE), '--chains', 'INPUT', '--family', '4', ...extra]);
    const flows = [...observers(['nfq']), nfqueueNode('nfq', { queue: QUEUE }, ['fn']), dropUdpPort('fn', 9, ['nfq'])];
    const rt = await startChildRuntime(flows, ['status'], { ns: vic });
    try {
      await waitQueueBound(rt, QUEUE);
      assert.equal(await pings(cli, VIC), true, 'ping passes through Node-RED');
      await check(vic, cli, rt);
    } finally {
      await rt.kill();
      await vic.exec(disableScript, ['--queue', String(QUEUE)]);
    }
  } finally {
    await lab.cleanup();
  }
}

describe('fail-open / fail-closed', () => {
  test('with --queue-bypass, a crashed Node-RED leaves traffic flowing', async (t) => {
    if (skip) return t.skip(skip);
    await scenario([], async (_vic, cli, rt) => {
      await rt.kill();
      assert.equal(await pings(cli, VIC), true, 'ping still answered with nobody on the queue');
    });
  });

  test('with --queue-bypass, a stopped Node-RED (queue unbound on close) leaves traffic flowing', async (t) => {
    if (skip) return t.skip(skip);
    await scenario([], async (_vic, cli, rt) => {
      await rt.stop();
      assert.equal(await pings(cli, VIC), true);
    });
  });

  test('fail-closed (no bypass): a crashed Node-RED stops traffic until the rule is removed', async (t) => {
    if (skip) return t.skip(skip);
    await scenario(['--fail-closed'], async (vic, cli, rt) => {
      await rt.kill();
      assert.equal(await pings(cli, VIC, 2, 1), false, 'no reply with nobody on the queue');
      await vic.exec(disableScript, ['--queue', String(QUEUE)]);
      assert.equal(await pings(cli, VIC), true, 'disabling the queue restores traffic');
    });
  });
});
