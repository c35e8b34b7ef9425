import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NFQUEUE_DEFAULTS, validateNfqueueOptions } from '../../../lib/capture/nfqueue-handle';

test('options are refused with the reason', () => {
  const ok = { ...NFQUEUE_DEFAULTS, queue: 0 };
  validateNfqueueOptions(ok);
  assert.throws(() => validateNfqueueOptions({ ...ok, queue: 65536 }), /queue must be an integer from 0 to 65535/);
  assert.throws(() => validateNfqueueOptions({ ...ok, maxLen: 0 }), /queue length/);
  assert.throws(() => validateNfqueueOptions({ ...ok, copyRange: 10 }), /copy range must be an integer from 20/);
  assert.throws(() => validateNfqueueOptions({ ...ok, queue: 1.5 }), /queue must be an integer/);
});
