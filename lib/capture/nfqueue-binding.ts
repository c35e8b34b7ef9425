/**
 * The optional npm binding `nfqueue` (0.3.x): loaded lazily so the rest of
 * the pack installs and runs without it, and the part of its API the queue
 * handle (nfqueue-handle.ts) uses. The binding opens a queue, polls its
 * netlink socket and delivers the first packet of each wake-up; it cannot
 * unbind, configure the queue or verdict many packets at once (the handle
 * does those with nfnetlink-queue.ts messages on the binding's socket).
 */

/** What the binding reports per packet (subset we use). */
export interface NfqPacketInfo {
  id: number;
  len: number;
  indev_name?: string;
  outdev_name?: string;
}

export interface NfqPacket {
  info: NfqPacketInfo;
  payload: Buffer;
}

export interface NfqBindingHandle {
  open(num: number, bufSize: number): void;
  run(cb: (p: NfqPacket) => void): void;
  bindings: { setVerdict(id: number, verdict: number, buffer: Buffer | null): void };
}

export interface NfqModule {
  NFQueue: new () => NfqBindingHandle;
}

let cachedModule: NfqModule | null = null;

/** The `nfqueue` binding, or a clear error naming what to install. */
export function loadNfqueueBinding(): NfqModule {
  if (cachedModule) return cachedModule;
  try {
    // Optional native dependency: loaded lazily so the rest of the pack works without it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    cachedModule = require('nfqueue') as NfqModule;
    return cachedModule;
  } catch (err) {
    throw new Error(
      `NFQUEUE support needs the optional npm package 'nfqueue' with its native binding, which failed to load (${(err as Error).message}). ` +
        'Install the Debian package libnetfilter-queue-dev (and build-essential, python3), then run `npm install nfqueue` in your Node-RED user directory.',
    );
  }
}
