/**
 * `npm start` as a newcomer runs it (scripts/start.js with a throwaway user
 * directory and a chosen password), with its default Dashboard 2 and with
 * IPS_DASHBOARD=1 (Dashboard 1): the analyst flow reads the bundled demo
 * capture, and headless Chromium logged in with HTTP credentials sees the
 * alert counts per category the detectors give on that capture (computed
 * from lib/), the threat log, the packet view of a clicked alert, the
 * severity filter, and a threshold slider changing what a new read of the
 * capture raises. Without credentials the editor, the dashboard, its socket
 * and the export refuse.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { packageRoot } from '../support/red-runtime';
import type { Locator, Page } from 'playwright-core';
import { flowCsvHeader } from '../../lib/detect/flow/features';
import { chromiumMissing, dashboardScreenshot, demoCapture, expectedAlerts, get, launchChromium, socketIoConnect, testOutput, type LaunchedBrowser } from '../support/browser';
import { freePort } from '../support/ports';

const creds = { username: 'admin', password: 'a newcomer password' };

/** What differs between the two dashboards for these tests. */
interface Variant {
  title: string;
  env: Record<string, string>;
  /** The analyst page and the socket.io path. */
  page: string;
  socket: string;
  /** Screenshot name suffix. */
  shot: string;
  /** The track of the threshold slider for `topic` with `label`. */
  slider(page: Page, topic: string, label: string): Locator;
}

const VARIANTS: Variant[] = [
  { title: 'Dashboard 2 (the default)', env: {}, page: '/dashboard/analyst', socket: '/dashboard/socket.io', shot: '-dashboard2',
    slider: (page, topic) => page.locator(`.ips-slider-${topic} .v-slider__container`) },
  { title: 'Dashboard 1 (IPS_DASHBOARD=1)', env: { IPS_DASHBOARD: '1' }, page: '/ui/', socket: '/ui/socket.io', shot: '',
    slider: (page, _topic, label) => page.locator(`md-slider[aria-label^="${label}"]`) },
];

for (const v of VARIANTS) {
  describe(`npm start: the analyst dashboard on the demo capture, ${v.title}`, { skip: chromiumMissing() ?? false }, () => {
    let userDir: string;
    let child: ChildProcess;
    let url: string;
    let log = '';
    let chromium: LaunchedBrowser | null = null;

    before(async () => {
      userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-npmstart-'));
      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      child = spawn(process.execPath, [path.join(packageRoot, 'scripts', 'start.js')], {
        env: { ...process.env, IPS_USER_DIR: userDir, PORT: String(port), IPS_ADMIN_PASSWORD: creds.password, IPS_ADMIN_USER: creds.username, IPS_DASHBOARD: '2', ...v.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
      for (let i = 0; i < 600 && !/Started flows/.test(log); i++) {
        if (child.exitCode !== null) throw new Error(`npm start exited: ${log}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.match(log, /Started flows/, log);
      fs.mkdirSync(testOutput, { recursive: true });
    });
    after(async () => {
      await chromium?.close();
      if (child && child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      fs.rmSync(userDir, { recursive: true, force: true });
    });

    it('starts with no unknown types and no errors', () => {
      assert.doesNotMatch(log, /missing types|Waiting for missing|\[error\]/, log);
    });

    it('without credentials: the editor, the dashboard, its socket and the export refuse', async () => {
      assert.equal((await get(`${url}/settings`)).status, 401);
      assert.equal((await get(`${url}/flows`)).status, 401);
      assert.equal((await get(`${url}${v.page}`)).status, 401);
      assert.equal((await get(`${url}/ips/export/alerts.csv`)).status, 401);
      assert.equal((await get(`${url}${v.page}`, { username: creds.username, password: 'not the password' })).status, 401);
      assert.match(await socketIoConnect(url, undefined, v.socket), /^44.*authentication required/);
      assert.match(await socketIoConnect(url, { username: creds.username, password: 'not the password' }, v.socket), /^44/);
      // the same requests with the login work, so the refusals above are the login's doing
      assert.equal((await get(`${url}${v.page}`, creds)).status, 200);
      assert.match(await socketIoConnect(url, creds, v.socket), /^40/);
    });

    it('exports the alert history as JSON Lines and CSV with the login', async () => {
      const expected = await expectedAlerts(demoCapture);
      let rows: { rule: string }[] = [];
      for (let i = 0; i < 60 && rows.length < expected.alerts.length; i++) {
        const jsonl = await get(`${url}/ips/export/alerts.jsonl`, creds);
        assert.equal(jsonl.status, 200);
        rows = jsonl.body.trim() ? jsonl.body.trim().split('\n').map((l) => JSON.parse(l) as { rule: string }) : [];
        if (rows.length < expected.alerts.length) await new Promise((r) => setTimeout(r, 500));
      }
      assert.deepEqual(rows.map((r) => r.rule).sort(), expected.alerts.map((a) => a.rule).sort());
      const csv = await get(`${url}/ips/export/alerts.csv`, creds);
      assert.equal(csv.status, 200);
      assert.match(csv.body.split('\n')[0], /^id,ts,.*rule/);
      for (const a of expected.alerts) assert.ok(csv.body.includes(`,${a.rule},`), a.rule);
    });

    it('the editor in a browser without credentials asks to log in', async () => {
      const anon = await launchChromium();
      try {
        const page = await anon.context.newPage();
        await page.goto(`${url}/`, { timeout: 120_000 });
        await page.waitForSelector('#node-dialog-login-fields, .red-ui-login-form, input[name=username], #node-dialog-login-username', { timeout: 120_000 });
        await page.screenshot({ path: path.join(testOutput, `editor-login${v.shot}.png`) });
        // the dashboard page: Chromium gets the 401 and, with no credentials to offer, shows no page
        const ui = await page.goto(`${url}${v.page}`).then((r) => `HTTP ${r?.status()}`, (err: Error) => err.message);
        assert.match(ui, /HTTP 401|ERR_INVALID_AUTH_CREDENTIALS/);
        assert.equal(await page.locator('[data-count="total"]').count(), 0);
      } finally {
        await anon.close();
      }
    });

    it('the dashboard shows the expected counts, the threat log and the packet of a clicked alert', async () => {
      const expected = await expectedAlerts(demoCapture);
      chromium = await launchChromium(creds);
      const page = await chromium.context.newPage();
      await page.goto(`${url}${v.page}`, { timeout: 120_000 });
      const total = Object.values(expected.byCategory).reduce((a, b) => a + b, 0);
      await page.waitForFunction((n) => document.querySelector('[data-count="total"]')?.textContent?.trim() === String(n), total, { timeout: 120_000 });
      for (const [category, count] of Object.entries(expected.byCategory)) {
        assert.equal((await page.textContent(`b[data-count="${category}"]`))?.trim(), String(count), category);
      }
      // every alert is a row of the threat log
      const rows = await page.$$eval('.ips-threat-log tr.ips-row', (trs) => trs.map((tr) => tr.getAttribute('data-rule')));
      assert.deepEqual(rows.sort(), expected.alerts.map((a) => a.rule).sort());
      // the export links lead to the export endpoints
      for (const cls of ['ips-export-csv', 'ips-export-jsonl']) {
        const href = await page.$eval(`a.${cls}`, (a) => (a as HTMLAnchorElement).href);
        assert.equal(href, `${url}/ips/export/alerts.${cls === 'ips-export-csv' ? 'csv' : 'jsonl'}`);
      }
      // the flows link downloads the capture's judged flows as CSV: the header row, then a row per flow
      const flowsHref = await page.$eval('a.ips-export-flows', (a) => (a as HTMLAnchorElement).href);
      assert.equal(flowsHref, `${url}/ips/export/flows.csv`);
      const flowsCsv = await get(flowsHref, creds);
      assert.equal(flowsCsv.status, 200);
      const flowLines = flowsCsv.body.split('\r\n').filter((l) => l !== '');
      assert.deepEqual(flowLines[0].split(','), [...flowCsvHeader(false), 'ML Class', 'ML Probability']);
      assert.equal(flowLines.length - 1, expected.flows.length);
      await page.waitForTimeout(1500); // let the charts draw before the picture
      await dashboardScreenshot(page, path.join(testOutput, `analyst-dashboard${v.shot}.png`));
      // click an alert with payload evidence: its packet view shows the hex/ASCII dump
      const withPayload = expected.alerts.find((a) => a.category === 'payload' && a.evidence)!;
      await page.click(`.ips-threat-log tr.ips-row[data-rule="${withPayload.rule}"]`);
      const view = page.locator('.ips-packet-view .ips-hex');
      await view.waitFor({ timeout: 60_000 });
      const dump = (await view.textContent()) ?? '';
      assert.equal(dump.trim(), withPayload.evidence!.trim());
      assert.match(dump, /0000 {2}[0-9a-f]{2} /);
      await page.locator('.ips-packet-view').screenshot({ path: path.join(testOutput, `analyst-packet-view${v.shot}.png`) });
      // the severity filter keeps only that severity
      await page.selectOption('.ips-severity-filter', 'high');
      const high = await page.$$eval('.ips-threat-log tr.ips-row', (trs) => trs.length);
      assert.equal(high, expected.alerts.filter((a) => a.severity === 'high').length);
    });

    it('a threshold slider changes the detector at runtime: ICMP per source at its top, a new read raises no flood.icmp.src', async () => {
      const before = await expectedAlerts(demoCapture);
      const after = await expectedAlerts(demoCapture, { icmpSrc: 1000 }); // any limit far above the demo's ping rate
      assert.ok(before.alerts.some((a) => a.rule === 'flood.icmp.src') && !after.alerts.some((a) => a.rule === 'flood.icmp.src'), 'the demo capture has an ICMP flood');
      chromium ??= await launchChromium(creds);
      const page = await chromium.context.newPage();
      await page.goto(`${url}${v.page}`, { timeout: 120_000 });
      const slider = v.slider(page, 'icmpSrc', 'ICMP echo per source per second');
      await slider.waitFor({ timeout: 60_000 });
      const box = (await slider.boundingBox())!;
      await page.mouse.click(box.x + box.width - 1, box.y + box.height / 2); // the far right end: the slider's maximum, sent on release
      await page.waitForTimeout(500);
      await page.click('.ips-clear button');
      await page.waitForFunction(() => document.querySelector('[data-count="total"]')?.textContent?.trim() === '0', undefined, { timeout: 30_000 });
      await page.click('.ips-read button');
      await page.waitForFunction((n) => document.querySelector('[data-count="total"]')?.textContent?.trim() === String(n), after.alerts.length, { timeout: 120_000 });
      await page.waitForTimeout(1000); // nothing more arrives
      const rows = await page.$$eval('.ips-threat-log tr.ips-row', (trs) => trs.map((tr) => tr.getAttribute('data-rule')));
      assert.deepEqual(rows.sort(), after.alerts.map((a) => a.rule).sort());
      await dashboardScreenshot(page, path.join(testOutput, `analyst-slider${v.shot}.png`));
    });
  });
}
