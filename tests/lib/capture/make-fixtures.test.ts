/**
 * Runs scripts/make-fixtures.sh for real (namespaces, tcpdump, ping, curl,
 * nmap, editcap, mergecap) into a temp dir and reads what it made: the
 * committed fixtures can be regenerated, and fresh captures read the same as
 * tshark reads them.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { CaptureFileReader } from '../../../lib/capture/pcap-file';
import { decodePacket } from '../../../lib/packet/decode';
import { netnsUnavailable, toolMissing } from '../../support/netns';

const SCRIPT = path.resolve(__dirname, '..', '..', '..', '..', 'scripts', 'make-fixtures.sh');

function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

describe('scripts/make-fixtures.sh', async () => {
  const skip = (await netnsUnavailable()) ?? (await toolMissing('tcpdump', 'ping', 'curl', 'nmap', 'python3', 'editcap', 'mergecap', 'tshark'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-fixtures-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('captures real ping/curl/nmap traffic in namespaces, in every format, readable as tshark reads it', { skip: skip ?? false, timeout: 120_000 }, async () => {
    await run('bash', [SCRIPT, dir], 90_000);
    const made = fs.readdirSync(dir).sort();
    assert.deepEqual(made, ['lab-any-sll.pcap', 'lab-any-sll2.pcap', 'lab-eth-nsec.pcap', 'lab-eth.pcap', 'lab-eth.pcapng', 'lab-multi.pcapng', 'lab-ppi.pcap', 'lab-radiotap.pcap', 'lab-wlan.pcap']);
    for (const name of made) {
      const file = path.join(dir, name);
      const lines = (await run('tshark', ['-n', '-r', file, '-T', 'fields', '-E', 'occurrence=f', '-e', 'ip.src', '-e', 'ipv6.src', '-e', 'tcp.dstport'], 60_000))
        .split('\n').filter((l) => l.length > 0);
      const srcs: string[] = [];
      const ports = new Set<number>();
      const reader = new CaptureFileReader(file);
      for await (const batch of reader) {
        for (const r of batch) {
          const p = decodePacket(r.data, r.linktype, r.ts, r.len, r.iface);
          assert.equal(p.malformed, undefined, `${name}: ${p.malformed}`);
          srcs.push(p.ip === 0 ? '' : p.src);
          if (p.proto === 'tcp' && p.dport !== undefined) ports.add(p.dport);
        }
      }
      assert.equal(reader.format, name.endsWith('.pcapng') ? 'pcapng' : 'pcap');
      assert.equal(srcs.length, lines.length, `${name}: packet count`);
      lines.forEach((l, i) => {
        const [v4, v6] = l.split('\t');
        if (v4 || v6) assert.equal(srcs[i], v4 || v6, `${name} frame ${i + 1}`);
      });
      // the traffic the script made is there: IPv4 and IPv6 pings, the HTTP fetch, the nmap scan
      assert.ok(srcs.includes('10.231.0.1') && srcs.includes('fd00:231::1'), `${name}: both address families`);
      assert.ok(ports.has(8080) && ports.has(22) && ports.has(80), `${name}: curl and nmap ports`);
    }
  });
});
