/**
 * The shipped router flow as a user sees it, on Dashboard 2 and on Dashboard
 * 1: a real Node-RED with the pack and the dashboard runs inside a "router"
 * network namespace behind
 * the `npm start` login, blocking for real (IPS_BLOCK_DRYRUN=false) and
 * with the INPUT chain sent to its NFQUEUE by scripts/nfqueue-enable.sh; a
 * "device" namespace with a Raspberry Pi MAC talks to it. Headless Chromium
 * in the host namespace reaches the dashboard through a Unix socket (not
 * per namespace), so no address or route is added to the host. Logged in,
 * it sees the device with its vendor and rate, its block switch cuts and
 * restores the device's traffic in the router's kernel, the device-limit
 * slider changes what bandwidth-threshold flags, and an ICMP flood
 * through the queue shows in the alert log and puts the device on the
 * blocklist, and its Unblock button lets it through again; a high-severity
 * alert pops up a notification. With a threat list holding the router's
 * address, the Threat lists view shows the list's size, age, last refresh and
 * hits, the device that reached it with its MAC and vendor, and the device's
 * top destination countries (public addresses on the router's loopback).
 * Without
 * credentials the dashboard refuses.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { Lab, netnsUnavailable, RASPBERRY_PI_MAC, routerWithDevice, toolMissing, type Netns } from '../support/netns';
import { startChildRuntime, type ChildRuntime } from '../support/red-process';
import { disableScript, enableScript, pings } from '../support/inline';
import { eventually } from '../support/wait';
import { chromiumMissing, dashboardScreenshot, get, launchChromium, shippedFlow, socketIoConnect, testOutput, unixSocketProxy, type LaunchedBrowser } from '../support/browser';
import type { FlowNode } from '../support/red-runtime';

const creds = { username: 'admin', password: 'a router password' };
const ROUTER = '10.97.0.1';
const DEVICE = '10.97.0.2';
const QUEUE = 0; // the flow's NFQUEUE_NUM default; queues are per namespace
const listFile = path.join(testOutput, 'router-threat-list.txt');

/** Packets the kernel has handed to `queue` so far (id_sequence in /proc/net/netfilter/nfnetlink_queue). */
function queued(rt: ChildRuntime, queue: number): number {
  const line = (rt.procNet('netfilter/nfnetlink_queue') ?? '').split('\n').map((l) => l.trim().split(/\s+/)).find((f) => f[0] === String(queue));
  return line ? Number(line[7]) : 0;
}

/** What differs between the two dashboards for these tests. */
interface Variant {
  title: string;
  flow(): FlowNode[];
  /** Node id prefix of the flow. */
  prefix: string;
  module: string;
  page: string;
  socket: string;
  shot: string;
  /** The block switch of a device row, and whether it shows on. */
  blockSwitch(row: string): string;
  switchOn(row: string): string;
  /** The device-limit slider's track, and the element whose text or value shows its value. */
  limitSlider(page: Page): Locator;
  showsLimit(page: Page, value: number): Promise<unknown>;
  /** A pop-up notification. */
  toast: string;
}

const VARIANTS: Variant[] = [
  {
    title: 'Dashboard 2', flow: () => shippedFlow('router-ips-dashboard2'), prefix: 'router2', module: '@flowfuse/node-red-dashboard', page: '/dashboard/router',
    socket: '/dashboard/socket.io', shot: '-dashboard2',
    blockSwitch: (row) => `${row} .ips-block-switch input`,
    switchOn: (row) => `${row}[data-blocked="yes"] .ips-block-switch .v-selection-control--dirty`,
    limitSlider: (page) => page.locator('.ips-slider-limitBps .v-slider__container'),
    showsLimit: (page, value) => page.locator(`.ips-slider-limitBps .v-slider-thumb[aria-valuenow="${value}"]`).waitFor({ timeout: 10_000 }),
    toast: '.nrdb-ui-notification',
  },
  {
    title: 'Dashboard 1', flow: () => shippedFlow('router-ips'), prefix: 'router', module: 'node-red-dashboard', page: '/ui/', socket: '/ui/socket.io', shot: '',
    blockSwitch: (row) => `${row} md-switch.ips-block-switch`,
    switchOn: (row) => `${row} md-switch.ips-block-switch.md-checked`,
    limitSlider: (page) => page.locator('md-slider[aria-label^="Device limit KB/s"]'),
    showsLimit: async (page, value) => page.waitForFunction((v) => document.querySelector('md-slider[aria-label^="Device limit KB/s"] .md-thumb-text')?.textContent?.trim() === String(v),
      value, { timeout: 10_000 }),
    toast: 'md-toast',
  },
];

for (const v of VARIANTS) {
  describe(`router dashboard in a browser (${v.title}), router flow in a namespace`, async () => {
    const skip = chromiumMissing() ?? (await netnsUnavailable()) ?? (await toolMissing('iptables', 'ipset', 'ping', 'hping3', 'conntrack'));
    let lab: Lab;
    let router: Netns;
    let device: Netns;
    let rt: ChildRuntime;
    let proxy: { url: string; close(): Promise<void> };
    let browser: LaunchedBrowser;
    let page: Page;
    const row = `.ips-devices tr.ips-device[data-ip="${DEVICE}"]`;

    before(async () => {
      if (skip) return;
      lab = new Lab();
      ({ router, device } = await routerWithDevice(lab, '10.97.0', { track: true }));
      // A threat list holding the router's address: the device's pings to it are a LAN device reaching a listed address.
      fs.mkdirSync(testOutput, { recursive: true });
      fs.writeFileSync(listFile, `# test list\n${ROUTER}\n`);
      rt = await startChildRuntime(v.flow(), [], {
        ns: router,
        modules: [v.module],
        unixSocket: true,
        login: creds,
        env: { ...process.env, IPS_LAN_CIDR: '10.97.0.0/24', IPS_BLOCK_DRYRUN: 'false', IPS_NFQUEUE: String(QUEUE),
          IPS_REP_LISTS: JSON.stringify([{ name: 'testlist', url: listFile, category: 'c2', refreshS: 0 }]) },
        timeoutMs: 60_000,
      });
      await router.exec(enableScript, ['--queue', String(QUEUE), '--chains', 'INPUT', '--family', '4']);
      proxy = await unixSocketProxy(rt.socketPath!);
      browser = await launchChromium(creds);
      page = await browser.context.newPage();
      fs.mkdirSync(testOutput, { recursive: true });
    });
    after(async () => {
      await browser?.close();
      await proxy?.close();
      await rt?.stop();
      if (router) await router.exec(disableScript, ['--queue', String(QUEUE)]).catch(() => undefined);
      await lab?.cleanup();
    });

    it('without credentials the dashboard, its socket and the editor refuse', { skip: skip ?? false }, async () => {
      assert.equal((await get(`${proxy.url}${v.page}`)).status, 401);
      assert.equal((await get(`${proxy.url}${v.page}`, { username: creds.username, password: 'not the password' })).status, 401);
      assert.equal((await get(`${proxy.url}/flows`)).status, 401);
      assert.match(await socketIoConnect(proxy.url, undefined, v.socket), /^44.*authentication required/);
      // the same with the login works, so the refusals are the login's doing
      assert.equal((await get(`${proxy.url}${v.page}`, creds)).status, 200);
      assert.match(await socketIoConnect(proxy.url, creds, v.socket), /^40/);
    });

    it('in the editor the router flow loads with no node marked invalid (${NAME} settings included)', { skip: skip ?? false }, async () => {
      interface EditorNode { id: string; type: string; valid?: boolean; validationErrors?: string[] }
      interface EditorApi { nodes: { node(id: string): EditorNode | null; eachNode(fn: (n: EditorNode) => void): void; eachConfig(fn: (n: EditorNode) => void): void } }
      const editor = await browser.context.newPage();
      try {
        await editor.goto(`${proxy.url}/`, { timeout: 120_000 });
        await editor.fill('#node-dialog-login-username', creds.username);
        await editor.fill('#node-dialog-login-password', creds.password);
        await editor.click('#node-dialog-login-submit');
        await editor.waitForFunction((id) => !!(window as unknown as { RED?: EditorApi }).RED?.nodes?.node?.(`${id}.nfq`), v.prefix, { timeout: 120_000 });
        const invalid = await editor.evaluate(() => {
          const RED = (window as unknown as { RED: EditorApi }).RED;
          const out: string[] = [];
          const check = (n: EditorNode) => {
            if (n.valid === false) out.push(`${n.type} ${n.id}: ${(n.validationErrors ?? []).join(', ')}`);
          };
          RED.nodes.eachNode(check);
          RED.nodes.eachConfig(check);
          return out;
        });
        assert.deepEqual(invalid, []);
        // the queue number is the tab's ${NFQUEUE_NUM}, and the pack's shared validators (served from resources/) ran on it
        assert.equal(await editor.evaluate((id) => (window as unknown as { RED: EditorApi }).RED.nodes.node(`${id}.nfq`) as unknown as { queue: string }, v.prefix).then((n) => n.queue), '${NFQUEUE_NUM}');
        assert.equal(await editor.evaluate(() => typeof (window as unknown as { ipsValidators?: unknown }).ipsValidators), 'object');
        await editor.screenshot({ path: path.join(testOutput, `router-editor${v.shot}.png`) });
      } finally {
        await editor.close();
      }
    });

    it('shows the device with its vendor and a non-zero rate', { skip: skip ?? false }, async () => {
      // traffic until the page has shown it, however long the page takes to load
      const ping = device.spawn('ping', ['-n', '-q', '-i', '0.2', '-s', '1000', ROUTER]);
      try {
        await page.goto(`${proxy.url}${v.page}`, { timeout: 120_000 });
        // the vendor comes once the router's neighbour table has the MAC, a poll or two after the first packets
        await page.waitForFunction((sel) => {
          const tr = document.querySelector(sel);
          const num = (cls: string) => Number(tr?.querySelector(cls)?.textContent?.replace(/,/g, '') ?? 0);
          return !!tr && /Raspberry/i.test(tr.querySelector('.ips-vendor')?.textContent ?? '') && num('.ips-rx') + num('.ips-tx') > 0;
        }, row, { timeout: 60_000 });
        await page.waitForTimeout(1000); // let the live chart draw a few points
        await dashboardScreenshot(page, path.join(testOutput, `router-dashboard${v.shot}.png`));
      } finally {
        ping.kill();
      }
    });

    it('the threat lists view shows each list\'s size, age, last refresh and hits, the device that reached a listed address with its MAC and vendor, and its top destination countries', { skip: skip ?? false }, async () => {
      // Two public addresses on the router, so the device's flows have destination countries (DB-IP: 8.8.8.8 US, 1.1.1.1 AU).
      for (const [ip, n] of [['8.8.8.8', 2], ['1.1.1.1', 1]] as const) {
        await router.exec('ip', ['addr', 'add', `${ip}/32`, 'dev', 'lo']);
        await device.exec('ip', ['route', 'add', `${ip}/32`, 'via', ROUTER]);
        // one conntrack flow per ping process (its own ICMP id)
        for (let i = 0; i < n; i++) assert.equal(await pings(device, ip, 1), true, `the device reaches ${ip}`);
      }
      // and a connection to the listed address (the router's) after the earlier tests' pings
      assert.equal(await pings(device, ROUTER, 1), true);
      await page.goto(`${proxy.url}${v.page}`, { timeout: 120_000 });
      const list = page.locator('.ips-reputation-view tr.ips-list[data-list="testlist"]');
      const dev = page.locator(`.ips-reputation-view tr.ips-listed-device[data-ip="${DEVICE}"]`);
      const countries = page.locator(`.ips-reputation-view tr.ips-country[data-ip="${DEVICE}"] .ips-country-top`);
      try {
        await page.waitForFunction((ip) => {
          const text = (sel: string) => document.querySelector(sel)?.textContent?.trim() ?? '';
          return /Raspberry/i.test(text(`.ips-reputation-view tr.ips-listed-device[data-ip="${ip}"] .ips-listed-vendor`))
            && text(`.ips-reputation-view tr.ips-country[data-ip="${ip}"] .ips-country-top`) === 'US 2, AU 1';
        }, DEVICE, { timeout: 60_000 });
      } catch (err) {
        console.log(`threat lists view: ${await page.locator('.ips-reputation-view').first().innerText().catch(() => '(none)')}\n${rt.diagnostics()}`);
        throw err;
      }
      // the list: one entry, fetched moments ago (0.0 h), the last refresh's result, and the device's hit
      assert.equal((await list.locator('.ips-list-entries').textContent())?.trim(), '1');
      assert.equal((await list.locator('.ips-list-age').textContent())?.trim(), '0.0 h');
      assert.equal((await list.locator('.ips-list-refresh').textContent())?.trim(), 'updated: 1 entries');
      assert.ok(Number((await list.locator('.ips-list-hits').textContent())?.trim()) >= 1, 'the list counts the device\'s hit');
      // the device: its MAC and vendor, the list it reached, how often, and the listed address
      assert.equal((await dev.locator('.ips-listed-mac').textContent())?.trim(), RASPBERRY_PI_MAC);
      assert.equal((await dev.locator('.ips-listed-lists').textContent())?.trim(), 'testlist');
      assert.ok(Number((await dev.locator('.ips-listed-hits').textContent())?.trim()) >= 1);
      assert.equal((await dev.locator('.ips-listed-address').textContent())?.trim(), ROUTER);
      assert.equal((await countries.textContent())?.trim(), 'US 2, AU 1');
      // The alert itself names the device's MAC and vendor (conntrack-poll reads the neighbour table at once for a new
      // device): in the threat log's packet view with the list and the entry that matched.
      const alertRow = page.locator('.ips-threat-log tr.ips-row[data-rule="reputation.outbound"]').first();
      await alertRow.waitFor({ timeout: 30_000 });
      await alertRow.click();
      const rep = page.locator('.ips-threat-log .ips-packet-view tr.ips-reputation');
      await rep.waitFor({ timeout: 10_000 });
      const repText = (await rep.textContent()) ?? '';
      assert.match(repText, /testlist \(10\.97\.0\.1\/32\)|testlist \(10\.97\.0\.1\)/);
      assert.match(repText, new RegExp(`${DEVICE.replace(/\./g, '\\.')}\\s*\\(${RASPBERRY_PI_MAC}, Raspberry`, 'i'));
      await dashboardScreenshot(page, path.join(testOutput, `router-threat-lists${v.shot}.png`));
    });

    it('the block switch stops the device\'s traffic in the router\'s kernel; switching it back restores it', { skip: skip ?? false }, async () => {
      assert.equal(await pings(device, ROUTER), true, 'the device reaches the router before blocking');
      await page.click(v.blockSwitch(row));
      await page.locator(`.ips-blocklist tr[data-ip="${DEVICE}"]`).waitFor({ timeout: 30_000 });
      assert.equal(await eventually(async () => !(await pings(device, ROUTER, 1, 1))), true, 'ping still answered after the switch blocked the device');
      await page.waitForSelector(v.switchOn(row), { timeout: 30_000 });
      await dashboardScreenshot(page, path.join(testOutput, `router-device-blocked${v.shot}.png`));
      await page.click(v.blockSwitch(row));
      await page.locator(`.ips-blocklist tr[data-ip="${DEVICE}"]`).waitFor({ state: 'detached', timeout: 30_000 });
      assert.equal(await eventually(() => pings(device, ROUTER, 1, 1)), true, 'ping not answered after the switch unblocked the device');
    });

    it('the device-limit slider changes bandwidth-threshold at runtime: at its bottom (10 KB/s) a 28 KB/s ping stream raises bandwidth.limit', { skip: skip ?? false }, async () => {
      const limitRow = page.locator(`.ips-threat-log tr.ips-row[data-rule="bandwidth.limit"]`);
      // about 28 KB/s each way, far below the default limit of 977 KB/s: at the default nothing is raised
      const stream = () => device.spawn('ping', ['-n', '-q', '-i', '0.05', '-s', '1400', ROUTER]);
      let ping = stream();
      try {
        await page.waitForTimeout(7000); // longer than the flow's sustain time (5 s)
        assert.equal(await limitRow.count(), 0, 'bandwidth.limit at the default limit');
      } finally {
        ping.kill();
      }
      const slider = v.limitSlider(page);
      await slider.scrollIntoViewIfNeeded(); // the dashboard scrolls inside its own container; a click must land on screen
      const box = (await slider.boundingBox())!;
      // the far left end is the slider's minimum, but the knob (977 of 100,000) covers it: move it away first
      await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
      await page.mouse.click(box.x, box.y + box.height / 2); // each value is sent on release
      await v.showsLimit(page, 10);
      ping = stream();
      try {
        await limitRow.first().waitFor({ timeout: 30_000 });
        assert.match((await limitRow.first().textContent()) ?? '', new RegExp(DEVICE.replace(/\./g, '\\.')));
      } finally {
        ping.kill();
      }
      // a bandwidth alert is about the device itself: it blocks no one
      assert.equal(await page.locator(`.ips-blocklist tr[data-ip="${DEVICE}"]`).count(), 0);
      assert.equal(await pings(device, ROUTER), true);
    });

    it('an ICMP flood through the NFQUEUE raises an alert in the log and puts the device on the blocklist', { skip: skip ?? false }, async () => {
      const before = queued(rt, QUEUE);
      // 2000 echo requests at about 500/s, ten times the flow's 50 per second per source
      await device.exec('hping3', ['--icmp', '-i', 'u2000', '-c', '2000', '-q', ROUTER], { timeoutMs: 60_000 }).catch((err: { code?: number }) => {
        // hping3 exits 1 when replies stop coming, which blocking causes
        if (err.code !== 1) throw err;
      });
      assert.ok(queued(rt, QUEUE) - before >= 100, `nfqueue-in saw only ${queued(rt, QUEUE) - before} packets`);
      const alertRow = page.locator('.ips-threat-log tr.ips-row[data-rule="flood.icmp.src"]');
      await alertRow.first().waitFor({ timeout: 30_000 });
      assert.match((await alertRow.first().textContent()) ?? '', new RegExp(DEVICE.replace(/\./g, '\\.')));
      await page.locator(`.ips-blocklist tr[data-ip="${DEVICE}"]`).waitFor({ timeout: 30_000 });
      assert.match((await page.locator(`.ips-blocklist tr[data-ip="${DEVICE}"]`).textContent()) ?? '', /ICMP echo/i);
      assert.equal(await eventually(async () => !(await pings(device, ROUTER, 1, 1))), true, 'the flooding device still reaches the router');
      await dashboardScreenshot(page, path.join(testOutput, `router-flood-blocked${v.shot}.png`));
    });

    it('a high-severity alert pops up a notification with its signature and reason; a medium one does not', { skip: skip ?? false }, async () => {
      const alert = { rule: 'scan.vertical', severity: 'high', signature: 'Vertical port scan', reason: '25 ports of 10.97.0.1 probed by 10.97.0.9 in 10 s' };
      await rt.inject(`${v.prefix}.toast-filter`, { topic: alert.rule, payload: { ...alert, severity: 'medium', reason: 'a medium one' } });
      await rt.inject(`${v.prefix}.toast-filter`, { topic: alert.rule, payload: alert });
      const toast = page.locator(v.toast, { hasText: alert.reason });
      await toast.first().waitFor({ timeout: 30_000 });
      assert.match((await toast.first().textContent()) ?? '', /Vertical port scan/);
      assert.equal(await page.locator(v.toast, { hasText: 'a medium one' }).count(), 0);
    });

    it('the blocklist\'s Unblock button lets the device through again', { skip: skip ?? false }, async () => {
      await page.click(`.ips-blocklist tr[data-ip="${DEVICE}"] .ips-unblock`);
      await page.locator(`.ips-blocklist tr[data-ip="${DEVICE}"]`).waitFor({ state: 'detached', timeout: 30_000 });
      // 30 s, not 10: at load 8-10 (helpers sharing the two cores) a ping once stayed unanswered 10 s after Unblock
      assert.equal(await eventually(() => pings(device, ROUTER, 1, 1), 30_000), true, 'ping not answered 30 s after Unblock');
    });
  });
}
