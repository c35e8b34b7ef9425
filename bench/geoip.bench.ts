/**
 * GeoIP and ASN: building the sorted-range tables from the shipped DB-IP
 * country MMDB and the @ip-location-db ASN CSV (first start), opening them
 * from the cache (every later start), memory, and lookups per second
 * (country alone, and country + AS number + organisation), against mmdb-lib
 * reading the MMDB tree per address for comparison.
 * Run: npm run bench geoip   (or: node --expose-gc dist/bench/geoip.bench.js)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Reader } from 'mmdb-lib';
import { GeoIp, shippedCountryDb } from '../lib/net/geo';
import { mib } from './support/measure';

const LOOKUPS = Number(process.env.GEO_BENCH_LOOKUPS ?? 2_000_000);

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-geo-bench-'));
  try {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const rss0 = process.memoryUsage.rss();
    let t = process.hrtime.bigint();
    await GeoIp.open({ cacheDir: dir });
    console.log(`first start (build + cache): ${(Number(process.hrtime.bigint() - t) / 1e6).toFixed(0)} ms`);
    gc?.();
    t = process.hrtime.bigint();
    const geo = await GeoIp.open({ cacheDir: dir });
    console.log(`later start (from cache): ${(Number(process.hrtime.bigint() - t) / 1e6).toFixed(0)} ms; ${geo.size.toLocaleString('en')} ranges; RSS ${mib(rss0)} → ${mib(process.memoryUsage.rss())}`);
    let s = 5;
    const next = (): number => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
    const ips = Array.from({ length: 1 << 14 }, () => {
      const n = next() ^ (next() << 7);
      return `${1 + ((n >>> 24) % 223)}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
    });
    const time = (label: string, fn: (ip: string) => unknown): void => {
      for (let i = 0; i < 100_000; i++) fn(ips[i & 0x3fff]);
      let known = 0;
      const cpu0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < LOOKUPS; i++) if (fn(ips[i & 0x3fff])) known++;
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const cpu = process.cpuUsage(cpu0);
      const cpuMs = (cpu.user + cpu.system) / 1000;
      console.log(`${label.padEnd(44)} ${Math.round((LOOKUPS * 1000) / ms).toLocaleString('en')} lookups/s; per CPU-second ${Math.round((LOOKUPS * 1000) / cpuMs).toLocaleString('en')} (${((100 * known) / LOOKUPS).toFixed(0)} % known)`);
    };
    time('country (sorted ranges)', (ip) => geo.countryOf(ip));
    time('country + ASN + organisation (sorted ranges)', (ip) => geo.lookup(ip).asn);
    const reader = new Reader(fs.readFileSync(shippedCountryDb()));
    time('country, mmdb-lib per address (comparison)', (ip) => reader.get(ip));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
