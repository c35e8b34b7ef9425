/**
 * Helpers for the dashboard tests: headless Debian Chromium through
 * playwright-core, the alerts the detectors raise on a capture (computed from
 * lib/, so tests never hard-code them), the shipped flows, whole-tab
 * screenshots, a TCP door to a runtime serving on a Unix socket in another
 * network namespace, and a raw socket.io handshake to check the dashboard's
 * socket refuses strangers.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import net from 'node:net';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { FileSource } from '../../lib/capture/file-source';
import { CHAIN_BATCH, chainSettings, DetectorChain } from '../../lib/detect/chain';
import type { Alert } from '../../lib/detect/alert';
import { FlowMeter } from '../../lib/detect/flow/meter';
import type { FlowRecord } from '../../lib/detect/flow/features';
import { FlowClassifier } from '../../lib/detect/ml/classifier';
import { packageRoot, type FlowNode } from './red-runtime';

export const CHROMIUM = '/usr/bin/chromium';
export const demoCapture = path.join(packageRoot, 'examples', 'captures', 'demo.pcap');
export const testOutput = path.join(packageRoot, 'test-output');

/** Why the browser tests cannot run here, or null. */
export function chromiumMissing(): string | null {
  return fs.existsSync(CHROMIUM) ? null : `${CHROMIUM} not installed (apt-get install chromium)`;
}

export interface LaunchedBrowser {
  context: BrowserContext;
  /** Close the browser and remove its profile. */
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile; `credentials` are sent when a page asks for HTTP Basic auth. */
export async function launchChromium(credentials?: { username: string; password: string }): Promise<LaunchedBrowser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-chromium-'));
  // a new empty profile per launch (playwright's persistent context takes it as userDataDir)
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 120_000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1400, height: 1000 },
    ...(credentials ? { httpCredentials: credentials } : {}),
  });
  context.setDefaultTimeout(60_000);
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Screenshot a whole dashboard tab. The dashboard scrolls inside its own
 * container, so a full-page shot shows one screen: grow the viewport to the
 * groups' height for the shot (the layout re-runs on resize), then restore it.
 */
export async function dashboardScreenshot(page: Page, file: string): Promise<void> {
  const size = page.viewportSize() ?? { width: 1400, height: 1000 };
  const bottom = await page.evaluate(() => {
    const groups = document.querySelector('.masonry-container');
    return groups ? groups.getBoundingClientRect().top + groups.scrollHeight : document.body.scrollHeight;
  });
  await page.setViewportSize({ width: size.width, height: Math.max(size.height, Math.ceil(bottom) + 16) });
  await page.waitForTimeout(1000);
  await page.screenshot({ path: file, fullPage: true });
  await page.setViewportSize(size);
}

/**
 * Alerts per category the analyst flow raises on `file` with default settings:
 * the detector chain (lib/detect/chain.ts), and flow-meter's flows (ended
 * at the end of the capture) judged by flow-classify's shipped model; the
 * flow records too.
 */
export async function expectedAlerts(file: string, floodConfig: Record<string, unknown> = {}): Promise<{ byCategory: Record<string, number>; alerts: Alert[]; flows: FlowRecord[]; packets: number; bytes: number }> {
  const chain = new DetectorChain(chainSettings({ 'flood-detect': floodConfig }));
  const meter = new FlowMeter({});
  const classifier = await FlowClassifier.create('flow-classify', {}, packageRoot);
  const alerts: Alert[] = [];
  const flows: FlowRecord[] = [];
  const judge = (records: FlowRecord[]): void => {
    if (records.length) classifier.judgeSync(records, alerts);
    flows.push(...records);
  };
  const summary = await new FileSource({ path: file, mode: 'analyze', speed: 1, batch: CHAIN_BATCH }).run((batch) => {
    alerts.push(...chain.process(batch));
    const records: FlowRecord[] = [];
    meter.process(batch, records);
    judge(records);
  });
  const rest: FlowRecord[] = [];
  meter.flush(rest);
  judge(rest);
  await classifier.close();
  const byCategory: Record<string, number> = {};
  for (const a of alerts) byCategory[a.category] = (byCategory[a.category] ?? 0) + 1;
  return { byCategory, alerts, flows, packets: summary.packets, bytes: summary.bytes };
}

/** A shipped flow from flows/: Dashboard 1, or with the suffix '-dashboard2' Dashboard 2. */
export function shippedFlow(name: 'analyst-ids' | 'router-ips' | 'fleet-central' | 'analyst-ids-dashboard2' | 'router-ips-dashboard2' | 'fleet-central-dashboard2'): FlowNode[] {
  return JSON.parse(fs.readFileSync(path.join(packageRoot, 'flows', `${name}.json`), 'utf8')) as FlowNode[];
}

/**
 * A TCP port on 127.0.0.1 forwarding to a Unix socket: the browser (in the
 * host namespace) reaches a runtime serving on `socketPath` inside a test
 * namespace without any address or route added to the host.
 */
export async function unixSocketProxy(socketPath: string): Promise<{ url: string; close(): Promise<void> }> {
  const conns = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(socketPath);
    for (const s of [client, upstream]) {
      conns.add(s);
      s.on('close', () => conns.delete(s));
      s.on('error', () => { client.destroy(); upstream.destroy(); });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => {
      for (const s of conns) s.destroy();
      server.close(() => resolve());
    }),
  };
}

function request(url: string, opts: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // A fresh connection per request: Node 24's global agent keeps sockets alive, and reusing one the
    // server is just closing (after a refused login) failed the request with ECONNRESET on the Node 24 leg.
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** GET `url` (optionally with HTTP Basic credentials). */
export function get(url: string, creds?: { username: string; password: string }): Promise<{ status: number; body: string }> {
  const headers: Record<string, string> = creds ? { Authorization: `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` } : {};
  return request(url, { headers });
}

/**
 * Connect to the dashboard's socket.io at `socketPath` (Dashboard 1's by
 * default; Dashboard 2's is /dashboard/socket.io) with Engine.IO 4
 * long-polling, as a browser does first, and join the default namespace. Returns what the server
 * answered to the namespace CONNECT: '40{...}' accepted, '44{...}' refused.
 */
export async function socketIoConnect(baseUrl: string, creds?: { username: string; password: string }, socketPath = '/ui/socket.io'): Promise<string> {
  const headers: Record<string, string> = creds ? { Authorization: `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` } : {};
  const base = `${baseUrl}${socketPath}/?EIO=4&transport=polling`;
  const open = await request(base, { headers });
  if (open.status !== 200 || !open.body.startsWith('0')) return `handshake refused: HTTP ${open.status} ${open.body}`;
  const { sid } = JSON.parse(open.body.slice(1)) as { sid: string };
  await request(`${base}&sid=${sid}`, { method: 'POST', body: '40', headers: { ...headers, 'Content-Type': 'text/plain;charset=UTF-8' } });
  const reply = await request(`${base}&sid=${sid}`, { headers });
  return reply.body;
}
