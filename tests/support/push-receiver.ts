/**
 * A local HTTP server standing in for a push service (an ntfy topic, the
 * Telegram Bot API) in the notification tests: it records every request —
 * method, path, headers, body — and answers 200, or `status` when set.
 * Loopback only.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PushRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface PushReceiver {
  url: string;
  requests: PushRequest[];
  /** The status code every request gets from now on (200 at first). */
  status: number;
  /** Resolve once `n` requests have arrived (rejects after `timeoutMs`). */
  waitFor(n: number, timeoutMs?: number): Promise<PushRequest[]>;
  close(): Promise<void>;
}

export async function startPushReceiver(): Promise<PushReceiver> {
  const requests: PushRequest[] = [];
  const receiver = { status: 200 } as PushReceiver;
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
      res.statusCode = receiver.status;
      res.end(receiver.status === 200 ? '{"ok":true}' : '{"ok":false,"description":"refused by the test"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    async waitFor(n: number, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (requests.length < n) {
        if (Date.now() > deadline) throw new Error(`only ${requests.length} of ${n} pushes arrived: ${JSON.stringify(requests.map((r) => r.body))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return requests;
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  });
}
