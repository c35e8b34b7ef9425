/**
 * payload-match with 5,000 rules in the Snort/Suricata rule language
 * (IPS_BENCH_RULES, default 5,000; generated: four headers, unique URI and
 * payload contents, some pcre, see tests/support/generated-rules.ts) plus the
 * shipped rules, on the mixed bench capture of `npm run bench detect`
 * (IPS_BENCH_PACKETS, default 1,000,000, 1 in 20 an attack):
 *  1. reader + decoder + payload-match engine, no Node-RED: shipped rules
 *     only, then with the 5,000 rules, and the rules the engine looked at
 *     per packet;
 *  2. pcap-in → payload-match → count in a real Node-RED runtime (target
 *     ≥ 300,000 packets/s), and the whole chain flood → scan → payload;
 *  3. catastrophic user regexes (`(a+)+$` as a JSON rule, `/^(a|aa)+$/` as
 *     a pcre) on 100 KB payloads of 'a' ending in '!': RE2's throughput,
 *     against the same detector without those rules.
 * Run: npm run bench signatures
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeCapture } from './support/make-capture';
import { measure, mib, report } from './support/measure';
import { readBatches, runChain } from './support/chain';
import { PayloadDetector } from '../lib/detect/payload/detector';
import type { Alert } from '../lib/detect/alert';
import type { FlowNode } from '../tests/support/red-runtime';
import { generatedRules } from '../tests/support/generated-rules';

const PACKETS = Number(process.env.IPS_BENCH_PACKETS ?? 1_000_000);
const RULES = Number(process.env.IPS_BENCH_RULES ?? 5000);
const BATCH = 256;
/** The bench capture's attacker sends SQL injection in the URI: one hand-written rule to see it raised. */
const UNION_RULE = 'alert http $EXTERNAL_NET any -> $HOME_NET any (msg:"BENCH SQLi UNION SELECT in URI"; flow:to_server; http.uri; content:"UNION"; nocase; content:"SELECT"; nocase; distance:1; classtype:web-application-attack; sid:5999999;)';
/** The capture's clients are in 10.0.0.0/8, its server 192.168.1.80: the server's network is $HOME_NET, so $EXTERNAL_NET rules apply. */
const SETTINGS = { homeNet: '192.168.0.0/16', cooldownS: '10', maxTracked: '50000' };

function byRule(alerts: readonly Alert[]): string {
  const by = new Map<string, number>();
  for (const a of alerts) by.set(a.rule, (by.get(a.rule) ?? 0) + 1);
  return [...by].sort().map(([k, v]) => `${k} ×${v}`).join(', ');
}

async function engine(file: string, label: string, config: Record<string, unknown>): Promise<void> {
  const det = new PayloadDetector('payload', config);
  const alerts: Alert[] = [];
  await readBatches(file, () => undefined); // warm page cache and code
  report(label, await measure(() => readBatches(file, (b) => alerts.push(...det.process(b)))));
  const sig = det.signatureEngine;
  console.log(`  ${det.loadSummary}; alerts: ${byRule(alerts)}`);
  if (sig !== null) {
    const c = sig.counters;
    console.log(`  rule-language units ${c.units.toLocaleString('en')}: prefilter candidates ${(c.candidates / c.units).toFixed(3)} and full checks ${(c.verified / c.units).toFixed(3)} per unit, ${c.matched} matched`);
  }
}

/** 100 KB payloads that make backtracking engines explode, through payload-match with and without the catastrophic rules. */
async function catastrophic(): Promise<void> {
  const payload = Buffer.from(`${'a'.repeat(100_000)}!`, 'latin1');
  const packets = Array.from({ length: 200 }, (_, i) => ({ ts: 1_700_000_000_000 + i, len: payload.length + 54, caplen: payload.length + 54, ip: 4 as const, src: '10.0.0.2', dst: '10.0.0.1', proto: 'tcp', sport: 40000 + i, dport: 80, flags: 'PA', payload }));
  const evil = {
    rules: JSON.stringify([{ id: 'local.redos', sid: 9000001, name: 'nested quantifier', pattern: '(a+)+$', regex: true, nocase: false }]),
    signatures: 'alert tcp any any -> any any (msg:"pcre redos"; pcre:"/^(a|aa)+$/"; sid:9100001;)',
  };
  for (const [label, config] of [['shipped rules only', {}], ['+ (a+)+$ JSON rule and /^(a|aa)+$/ pcre', evil]] as const) {
    const det = new PayloadDetector('redos', config);
    det.process(packets.slice(0, 10));
    const r = await measure(async () => {
      for (let k = 0; k < 5; k++) det.process(packets);
      return 5 * packets.length;
    });
    report(`100 KB 'aaa…a!' payloads, ${label}`, r);
    console.log(`  ${((r.packets * payload.length) / 2 ** 20 / (r.cpuMs / 1000)).toFixed(0)} MiB per CPU-second`);
  }
}

async function main(): Promise<void> {
  await catastrophic();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-bench-signatures-'));
  try {
    const capture = path.join(dir, 'mixed-attacks.pcap');
    const size = makeCapture(capture, PACKETS, { attackEvery: 20, gapUs: 100 });
    const rulesFile = path.join(dir, 'generated.rules');
    fs.writeFileSync(rulesFile, `${generatedRules(RULES)}\n${UNION_RULE}\n`);
    console.log(`capture: ${PACKETS.toLocaleString('en')} packets (${mib(size)}), ${RULES.toLocaleString('en')} generated rules + 1 (${mib(fs.statSync(rulesFile).size)})`);
    const t0 = Date.now();
    new PayloadDetector('load', { ...SETTINGS, rulesFile });
    console.log(`  loading the rules (parse, compile, automata): ${Date.now() - t0} ms`);

    await engine(capture, 'reader + decoder + payload-match, shipped rules only', SETTINGS);
    await engine(capture, `reader + decoder + payload-match, + ${RULES} rule-language rules`, { ...SETTINGS, rulesFile });

    const payload: FlowNode = { id: 'payload-node', type: 'payload-match', name: 'payload', includeDefaults: true, rules: '[]', rulesFile, action: 'alert', allowlist: '', ...SETTINGS };
    const one = await runChain(capture, [payload], `pcap-in → payload-match (${RULES} rules) → count`, BATCH);
    console.log(`  alerts: ${byRule(one.alerts)}`);
    const all = await runChain(capture, [{ id: 'flood-node', type: 'flood-detect', name: 'flood' }, { id: 'scan-node', type: 'scan-detect', name: 'scan' }, payload], `pcap-in → flood → scan → payload-match (${RULES} rules) → count`, BATCH);
    console.log(`  alerts: ${byRule(all.alerts)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
