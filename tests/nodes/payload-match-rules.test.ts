/**
 * payload-match in Node-RED (node-red-node-test-helper) loading a
 * Snort/Suricata rules file: the rules that load match (alerts with gid,
 * sid, rev, msg, classtype, references, the sender as offender), a
 * flowbits pair works across two packets of one connection, an unsupported
 * rule is skipped and reported in the status and the log, and a config
 * message with rule-language text reloads the rules.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Packet } from '../../lib/packet/types';
import type { Alert } from '../../lib/detect/alert';
import { loadDetector } from '../support/detector-harness';
import { nodeHelper, useServerPerFile, type Spy } from '../support/node-helper';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const payloadMatchNode = require('../../nodes/payload-match/payload-match');

useServerPerFile();

let dir = '';
let rulesFile = '';
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm-rules-'));
  rulesFile = path.join(dir, 'local.rules');
  fs.writeFileSync(rulesFile, [
    '# local rules',
    'alert http $EXTERNAL_NET any -> $HOME_NET $HTTP_PORTS (msg:"LOCAL admin probe"; flow:to_server; \\',
    '    http.uri; content:"/admin"; classtype:attempted-recon; reference:url,example.org/admin; sid:9300001; rev:2;)',
    'alert tcp any any -> $HOME_NET 21 (msg:"LOCAL ftp root login"; content:"USER root"; flowbits:set,ftp.root; flowbits:noalert; sid:9300002;)',
    'drop tcp any any -> $HOME_NET 21 (msg:"LOCAL ftp root password"; content:"PASS "; flowbits:isset,ftp.root; classtype:attempted-admin; sid:9300003;)',
    'alert tcp any any -> any any (msg:"LOCAL unsupported"; content:"x"; byte_test:1,=,1,0; sid:9300004;)',
  ].join('\n'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

let clock = 1_700_000_000_000;
function pkt(text: string, o: Partial<Packet> = {}): Packet {
  const payload = Buffer.from(text, 'latin1');
  clock += 10;
  return { ts: clock, len: payload.length + 54, caplen: payload.length + 54, ip: 4, src: '203.0.113.9', dst: '192.168.1.10', proto: 'tcp', sport: 43512, dport: 80, flags: 'PA', payload, ...o };
}

describe('payload-match node with a Snort/Suricata rules file', () => {
  it('loads the rules it can run, reports the rest, and raises their alerts', async () => {
    const h = await loadDetector(payloadMatchNode, 'payload-match', { includeDefaults: false, rulesFile, cooldownS: '0', action: 'drop' });
    const node = nodeHelper<{ warn: Spy }>().getNode('det');
    const warnings = node.warn.getCalls().map((c) => String(c.args[0]));
    assert.deepEqual(warnings, ["loaded 3 of 4 rules; skipped 1: 1 × unsupported option 'byte_test' (sid 9300004)"]);
    assert.deepEqual(h.errors, []);
    assert.match(h.statuses.at(-1)?.text ?? '', /^loaded 3 of 4 rules · waiting for packets$/);

    await h.send({ payload: [
      pkt('GET /admin/login HTTP/1.1\r\nHost: nas.lan\r\n\r\n'),
      pkt('GET /index.html HTTP/1.1\r\nHost: nas.lan\r\n\r\n', { sport: 43513 }),
      // One FTP connection (sequence numbers: the reassembler tracks it), then another.
      pkt('USER root\r\n', { sport: 50000, dport: 21, seq: 1000, ack: 1 }),
      pkt('PASS hunter2\r\n', { sport: 50000, dport: 21, seq: 1011, ack: 1 }),
      pkt('PASS other\r\n', { sport: 50001, dport: 21, seq: 1000, ack: 1 }),
    ] });
    const alerts = h.alerts.map((m) => m.payload as Alert);
    assert.deepEqual(alerts.map((a) => [a.rule, a.sid, a.gid, a.rev, a.signature, a.classtype, a.references, a.severity, a.category, a.action, a.offender, a.sport]).sort(), [
      ['sig:1:9300001', 9300001, 1, 2, 'LOCAL admin probe', 'attempted-recon', ['url,example.org/admin'], 'medium', 'payload', 'alert', '203.0.113.9', 43512],
      ['sig:1:9300003', 9300003, 1, 1, 'LOCAL ftp root password', 'attempted-admin', [], 'high', 'payload', 'drop', '203.0.113.9', 50000],
    ]);
    const out = h.packets[0].payload as Packet[];
    assert.deepEqual(out.map((p) => p.verdict ?? 'accept'), ['accept', 'accept', 'accept', 'drop', 'accept']);
    await h.send({ topic: 'reset' });
    assert.match(h.statuses.at(-1)?.text ?? '', /^loaded 3 of 4 rules · 0 pkts · 0 alerts/);
  });

  it('a config message with rule-language text reloads the rules; a bad variable is refused and the rules stay', async () => {
    const h = await loadDetector(payloadMatchNode, 'payload-match', { includeDefaults: false, cooldownS: '0' });
    await h.send({ topic: 'config', payload: { signatures: 'alert udp any any -> any 53 (msg:"LOCAL dns tunnel"; content:"|00 10 00 01|"; sid:9300010;)' } });
    await h.send({ topic: 'config', payload: { externalNet: '[10.0.0.0/8' } });
    assert.match(h.errors.join('\n'), /externalNet: address list .* has no closing \]/);
    await h.send({ payload: pkt('\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03abc\x00\x00\x10\x00\x01', { proto: 'udp', sport: 5353, dport: 53, flags: undefined }) });
    assert.deepEqual(h.alerts.map((m) => (m.payload as Alert).rule), ['sig:1:9300010']);
  });
});
