/**
 * The pack's editor dialogs and help in Node-RED's default theme and in a
 * dark one (`dark-modern` of @node-red-contrib-themes/theme-collection, the
 * dark theme Node-RED 5 users install; it needs Node-RED 5, so on 4.x this
 * test says so and skips). In headless Chromium, every node type's edit
 * dialog is opened and every piece of text in it, and in its help, must be
 * readable on the background it is drawn on: a contrast ratio of at least
 * 3:1 (WCAG's minimum for large text and controls). A fixed colour in a
 * template (black text, a white box) fails this in one of the two themes;
 * colours from Node-RED's --red-ui-* variables pass in both. Screenshots of
 * one dialog in each theme go to docs/screenshots/.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { startRuntime, packageRoot, type FlowNode, type Runtime } from '../support/red-runtime';
import { chromiumMissing, launchChromium, type LaunchedBrowser } from '../support/browser';

const THEME = 'dark-modern';
const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } };
const TYPES = Object.keys(pkg['node-red'].nodes);
const nodeRedMajor = Number((JSON.parse(fs.readFileSync(require.resolve('node-red/package.json', { paths: [packageRoot] }), 'utf8')) as { version: string }).version.split('.')[0]);

let rt: Runtime | null = null;
let browser: LaunchedBrowser | null = null;
const skip = chromiumMissing() ?? (nodeRedMajor < 5 ? `the ${THEME} theme needs Node-RED 5 (this is ${nodeRedMajor}.x); the Node 24 CI leg runs it` : null);

before(async () => {
  if (skip) return;
  const flow: FlowNode[] = [{ id: 'tab1', type: 'tab', label: 'all nodes' }];
  // nfqueue-in is placed disabled: started, it would bind NFQUEUE 0 here, and the
  // binding's poller cannot be stopped, so this test process would never exit.
  // Its dialog and help are the same either way.
  TYPES.forEach((type, i) => flow.push({ id: `n${i}`, type, z: 'tab1', x: 200, y: 60 + 50 * i, wires: [], ...(type === 'nfqueue-in' ? { d: true } : {}) }));
  rt = await startRuntime(flow, { editorTheme: { tours: false, theme: THEME }, telemetry: { enabled: false } }, { modules: ['@node-red-contrib-themes/theme-collection'] });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await rt?.stop();
});

/** Text in `root` whose contrast with the background it sits on is under 3:1, as "type: text (ratio)". */
function lowContrast(page: Page, root: string): Promise<string[]> {
  return page.evaluate((sel) => {
    const parse = (c: string): number[] => (c.match(/[\d.]+/g) ?? ['0', '0', '0', '0']).map(Number);
    const lum = ([r, g, b]: number[]): number => {
      const ch = (v: number): number => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b);
    };
    /** The first opaque background behind `el`, walking up (the page's own at the top). */
    const background = (el: Element | null): number[] => {
      for (let e = el; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c.length < 4 ? true : c[3] > 0.5) return c;
      }
      return parse(getComputedStyle(document.body).backgroundColor);
    };
    const out: string[] = [];
    for (const el of Array.from(document.querySelectorAll(sel + ' *'))) {
      const style = getComputedStyle(el);
      if (style.visibility === 'hidden' || style.display === 'none' || (el as HTMLElement).offsetParent === null) continue;
      const own = Array.from(el.childNodes).filter((n) => n.nodeType === 3).map((n) => n.textContent ?? '').join('').trim();
      const isField = el instanceof HTMLInputElement && el.type !== 'checkbox' && el.type !== 'hidden' && el.value !== '';
      if (!own && !isField) continue;
      const fg = lum(parse(style.color));
      const bg = lum(background(el));
      const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
      if (ratio < 3) out.push(`${el.tagName.toLowerCase()}: "${(own || (el as HTMLInputElement).value).slice(0, 40)}" (${ratio.toFixed(2)}:1)`);
    }
    return out;
  }, root);
}

describe(`editor dialogs and help in the default and the ${THEME} theme`, () => {
  for (const theme of ['default', THEME]) {
    it(`${theme}: every node's edit dialog and help are readable`, { skip: skip ?? false, timeout: 300_000 }, async () => {
      const page = await browser!.context.newPage();
      const pageErrors: string[] = [];
      page.on('pageerror', (e) => pageErrors.push(e.message));
      try {
        await page.goto(`${rt!.url}/admin/`);
        // The editor is up and has loaded the flow: every placed node is known (on a slow machine the
        // flow arrives well after RED.nodes exists, and editing a node not yet loaded opens nothing).
        await page.waitForFunction((last) => {
          const RED = (window as unknown as { RED?: { nodes?: { node?: (id: string) => unknown } } }).RED;
          return typeof RED?.nodes?.node === 'function' && RED.nodes.node(last) != null && document.querySelector('#red-ui-workspace-chart') !== null;
        }, `n${TYPES.length - 1}`, { polling: 500, timeout: 120_000 });
        await page.waitForTimeout(1000);
        const themed = await page.evaluate((name) => Array.from(document.querySelectorAll('link[rel=stylesheet]')).some((l) => (l as HTMLLinkElement).href.includes(name)), THEME);
        assert.ok(themed, `the ${THEME} theme's stylesheet is on the page`);
        if (theme === 'default') {
          // Node-RED's own look: the theme's stylesheets removed.
          await page.evaluate((name) => { for (const l of Array.from(document.querySelectorAll('link[rel=stylesheet]'))) if ((l as HTMLLinkElement).href.includes(name)) l.remove(); }, THEME);
          await page.waitForTimeout(500);
        }
        const problems: string[] = [];
        for (let i = 0; i < TYPES.length; i++) {
          await page.evaluate((id) => {
            const RED = (window as unknown as { RED: { editor: { edit(n: unknown): void }; nodes: { node(id: string): unknown }; sidebar: { help: { show(type: string): void } } } }).RED;
            RED.editor.edit(RED.nodes.node(id));
          }, `n${i}`);
          await page.waitForSelector('.red-ui-tray .red-ui-tray-body form', { state: 'visible' }).catch((e: Error) => {
            throw new Error(`${TYPES[i]}: its edit dialog did not open (${e.message.split('\n')[0]}); page errors: ${pageErrors.join(' | ') || 'none'}`);
          });
          await page.waitForTimeout(300);
          for (const p of await lowContrast(page, '.red-ui-tray .red-ui-tray-body')) problems.push(`${TYPES[i]} dialog ${p}`);
          if (TYPES[i] === 'pcap-in') {
            fs.mkdirSync(path.join(packageRoot, 'docs', 'screenshots'), { recursive: true });
            await page.screenshot({ path: path.join(packageRoot, 'docs', 'screenshots', `editor-${theme === 'default' ? 'light' : 'dark'}.png`) });
          }
          await page.evaluate((type) => (window as unknown as { RED: { sidebar: { help: { show(t: string): void } } } }).RED.sidebar.help.show(type), TYPES[i]);
          await page.waitForTimeout(300);
          for (const p of await lowContrast(page, '.red-ui-help')) problems.push(`${TYPES[i]} help ${p}`);
          // closed as Cancel does (the button may sit under the help sidebar in a narrow window)
          await page.evaluate(() => (window as unknown as { RED: { tray: { close(): void } } }).RED.tray.close());
          await page.waitForSelector('.red-ui-tray', { state: 'detached' });
        }
        assert.deepEqual(problems, []);
      } finally {
        await page.close();
      }
    });
  }
});
