import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { hasNetAdmin, parseKernelQueues } from '../../../lib/capture/nfqueue-proc';

describe('kernel state readers', () => {
  test('parses /proc/net/netfilter/nfnetlink_queue rows', () => {
    const rows = parseKernelQueues('    5  10209     4 2   128     3     1        9  1\n   12  777 0 2 65531 0 0 0 1\n\n');
    assert.deepEqual(rows[0], { queue: 5, portId: 10209, waiting: 4, copyMode: 2, copyRange: 128, queueDropped: 3, userDropped: 1, lastId: 9 });
    assert.equal(rows[1].queue, 12);
    assert.deepEqual(parseKernelQueues(''), []);
  });

  test('reads CAP_NET_ADMIN from a status file', () => {
    assert.equal(hasNetAdmin('Name:\tnode\nCapEff:\t000001ffffffffff\n'), true);
    assert.equal(hasNetAdmin('Name:\tnode\nCapEff:\t000001fffeffefff\n'), false);
    assert.equal(hasNetAdmin('CapEff:\t0000000000001000\n'), true);
  });
});
