/**
 * Shared steps of the payload-match traffic tests: a tcpdump capture on the
 * victim that waits until it listens and, when stopped, only once a marker
 * request is in the file (so nothing in flight is lost); curl from a
 * namespace; and the capture run through pcap-in → payload-match in a real
 * Node-RED runtime, returning the alerts.
 */
import fs from 'node:fs';
import { once } from 'node:events';
import type { Netns } from './netns';
import { startRuntime, type FlowNode, type Runtime } from './red-runtime';
import type { Alert } from '../../lib/detect/alert';

export async function curl(ns: Netns, args: string[], maxTimeS = 5): Promise<void> {
  await ns.exec('curl', ['-s', '-o', '/dev/null', '--max-time', String(maxTimeS), ...args], { timeoutMs: (maxTimeS + 10) * 1000 });
}

export interface WebCapture {
  file: string;
  /** Ask `markerUrl` from `client`, wait until it is in the file, stop tcpdump; returns the packets its kernel buffer dropped (-1: not said). */
  stop(client: Netns, markerUrl: string): Promise<number>;
}

/** tcpdump on every interface of `ns` for TCP `port`, into `file`; resolves once it listens. */
export async function startWebCapture(ns: Netns, file: string, port: number, extra: string[] = []): Promise<WebCapture> {
  const tcpdump = ns.spawn('tcpdump', ['-i', 'any', '-n', '--immediate-mode', '-U', '-s', '0', ...extra, '-w', file, 'tcp', 'port', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 10_000);
    tcpdump.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on')) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  return {
    file,
    async stop(client, markerUrl) {
      // tcpdump writes each packet as it comes (-U); stop it only once the marker is in the file.
      await curl(client, [markerUrl]);
      const marker = new URL(markerUrl).pathname;
      for (let i = 0; i < 100 && !fs.readFileSync(file).includes(marker); i++) await new Promise((r) => setTimeout(r, 100));
      if (tcpdump.exitCode === null && tcpdump.signalCode === null) {
        tcpdump.kill('SIGINT');
        await once(tcpdump, 'exit');
      }
      if (process.env.IPS_KEEP_CAPTURE) fs.copyFileSync(file, process.env.IPS_KEEP_CAPTURE);
      return Number(/(\d+) packets? dropped by kernel/.exec(err)?.[1] ?? -1);
    },
  };
}

/** pcap-in (analyze) → payload-match with the shipped rules, cooldown 0 and `extra` settings → alerts. */
function payloadFlow(file: string, name: string, extra: Record<string, unknown>): FlowNode[] {
  return [
    { id: 'tab', type: 'tab', label: 'payload' },
    { id: 'cap', z: 'tab', type: 'pcap-in', name: '', source: 'file', filename: file, mode: 'analyze', speed: '1', batchSize: '64', batchDelay: '20', autostart: true, wires: [['pm'], ['done']] },
    { id: 'pm', z: 'tab', type: 'payload-match', name, includeDefaults: true, rules: '[]', rulesFile: '', action: 'alert', allowlist: '', cooldownS: '0', maxTracked: '50000', ...extra, wires: [['pkts'], ['alerts']] },
    { id: 'pkts', z: 'tab', type: 'debug', active: false, wires: [] },
    { id: 'alerts', z: 'tab', type: 'debug', active: false, wires: [] },
    { id: 'done', z: 'tab', type: 'debug', active: false, wires: [] },
  ];
}

/** Run a capture through payload-match in a fresh runtime; returns it (stop it in `after`), the alerts and pcap-in's packet count. */
export async function alertsOfCapture(file: string, name: string, extra: Record<string, unknown> = {}): Promise<{ runtime: Runtime; alerts: Alert[]; packets: number }> {
  // Start empty and watch the outputs before deploying: pcap-in starts reading on deploy.
  const runtime = await startRuntime([]);
  const box = runtime.inbox('alerts');
  await runtime.deploy(payloadFlow(file, name, extra));
  const done = await runtime.waitFor('done', (m) => m.length >= 1, 60_000);
  // Alerts leave payload-match in the same step as each batch; give the last hop a moment.
  let last = -1;
  while (box.length !== last) {
    last = box.length;
    await new Promise((r) => setTimeout(r, 300));
  }
  return { runtime, alerts: box.map((m) => m.msg.payload as Alert), packets: (done[0].msg.payload as { packets: number }).packets };
}
