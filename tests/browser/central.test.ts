/**
 * The shipped fleet central flow as a user sees it, on Dashboard 2 and on
 * Dashboard 1: a real Node-RED with the pack and the dashboard, behind the
 * `npm start` login, reached by headless Chromium through a Unix socket; a
 * real Mosquitto on loopback and two sensors (the fleet-sensor engine,
 * lib/fleet/sensor.ts). The user sees both sensors and their alerts, types a
 * sensor's name in the filter and sees only its alerts, and types an address
 * and clicks "Block everywhere": each sensor gets the decision for its
 * iptables-block.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { startSensorEngines, type SensorEngine } from '../support/sensor-engines';
import { Mosquitto } from '../support/mosquitto';
import { makeAlert, tempDir } from '../support/store';
import { startChildRuntime, type ChildRuntime } from '../support/red-process';
import { toolMissing } from '../support/netns';
import { until } from '../support/wait';
import { chromiumMissing, dashboardScreenshot, launchChromium, shippedFlow, testOutput, unixSocketProxy, type LaunchedBrowser } from '../support/browser';

const creds = { username: 'admin', password: 'a central password' };
const BLOCKED = '203.0.113.77';

const VARIANTS = [
  { title: 'Dashboard 2', file: 'fleet-central-dashboard2' as const, module: '@flowfuse/node-red-dashboard', page: '/dashboard/fleet', shot: '-dashboard2', port: 24_883 },
  { title: 'Dashboard 1', file: 'fleet-central' as const, module: 'node-red-dashboard', page: '/ui/', shot: '', port: 25_883 },
];

for (const v of VARIANTS) {
  describe(`fleet dashboard in a browser (${v.title}), two sensors over Mosquitto`, async () => {
    const skip = chromiumMissing() ?? (await toolMissing('mosquitto'));
    let dir: string;
    let broker: Mosquitto;
    let rt: ChildRuntime;
    let proxy: { url: string; close(): Promise<void> };
    let browser: LaunchedBrowser;
    let page: Page;
    let sensors: SensorEngine[] = [];

    before(async () => {
      if (skip) return;
      dir = tempDir('central-browser');
      broker = new Mosquitto({ port: v.port + (process.pid % 1000) });
      await broker.start();
      rt = await startChildRuntime(shippedFlow(v.file), [], {
        modules: [v.module],
        unixSocket: true,
        login: creds,
        env: { ...process.env, IPS_MQTT_URL: broker.url, IPS_DB: path.join(dir, 'central.db') },
        timeoutMs: 60_000,
      });
      sensors = await startSensorEngines(broker.url, dir, ['alpha', 'beta']);
      proxy = await unixSocketProxy(rt.socketPath!);
      browser = await launchChromium(creds);
      page = await browser.context.newPage();
      fs.mkdirSync(testOutput, { recursive: true });
    });
    after(async () => {
      await browser?.close();
      await proxy?.close();
      for (const s of sensors) await s.engine.close().catch(() => undefined);
      await rt?.stop();
      await broker?.dispose();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it('shows both sensors and their alerts; the sensor filter narrows the alerts to one sensor', { skip: skip ?? false }, async () => {
      sensors.forEach((s, k) => {
        for (let i = 0; i <= k; i++) s.engine.input({ payload: makeAlert(i, { ts: Date.now(), src: `10.0.${k + 1}.${i + 1}` }) });
      });
      await page.goto(`${proxy.url}${v.page}`, { timeout: 120_000 });
      await page.locator('.ips-fleet-sensors tr[data-sensor="beta"][data-state="online"]').waitFor({ timeout: 60_000 });
      await page.locator('.ips-fleet-sensors tr[data-sensor="alpha"][data-state="online"]').waitFor({ timeout: 30_000 });
      const rows = page.locator('.ips-threat-log tr.ips-row');
      await until(async () => (await rows.count()) === 3, 'three alerts in the log', 30_000);
      const shown = async () => (await page.locator('.ips-threat-log tr.ips-row').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-sensor')))).sort();
      assert.deepEqual(await shown(), ['alpha', 'beta', 'beta']);
      await dashboardScreenshot(page, path.join(testOutput, `fleet-dashboard${v.shot}.png`));

      const filter = page.getByLabel('Sensor', { exact: true });
      await filter.fill('alpha');
      await filter.press('Enter');
      await until(async () => (await shown()).join() === 'alpha', 'only alpha\'s alert', 30_000);
      await filter.fill('');
      await filter.press('Enter');
      await until(async () => (await shown()).length === 3, 'every sensor\'s alerts again', 30_000);
    });

    it('"Block everywhere" sends the typed address to every sensor as a block decision', { skip: skip ?? false }, async () => {
      const address = page.getByLabel('Address', { exact: true });
      await address.fill(BLOCKED);
      await address.press('Enter');
      await page.click('.ips-block-everywhere button');
      await until(() => sensors.every((s) => s.commands.some((c) => c.ip === BLOCKED && c.action === 'block')), `both sensors get the block of ${BLOCKED}\n${rt.diagnostics()}`, 30_000);
    });
  });
}
