/**
 * Holds the lab server's outgoing packets (iptables OUTPUT → NFQUEUE) for a
 * fixed time before accepting them, so the capture on the server's side sees
 * replies a round trip after the request, as a router or an inline IPS does
 * (the veth link answers in microseconds, which no network does, and the
 * kernel here has no netem). Run in the server's namespace:
 * `node lab-delay.js QUEUE DELAY_MS`; prints "listening" once bound.
 */
import { NfqueueHandle, NFQUEUE_DEFAULTS } from '../../lib/capture/nfqueue-handle';

const queue = Number(process.argv[2]);
const delayMs = Number(process.argv[3]);
const handle = NfqueueHandle.open({ ...NFQUEUE_DEFAULTS, queue, maxLen: 65_536, copyRange: 64 }, (p) => {
  setTimeout(() => {
    handle.one(p.id, true);
    handle.flush();
  }, delayMs);
});
console.log('listening');
const stop = (): void => {
  handle.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
