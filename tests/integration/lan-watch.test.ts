/**
 * lan-watch on a real LAN of network namespaces: a router (a bridge with the
 * gateway address, dnsmasq), a victim, an attacker, a device that joins over
 * DHCP and a device that roams between two access points (two bridges on the
 * router). Real tools: arpspoof (dsniff) poisoning the victim's view of the
 * gateway and the gateway's of the victim, arping sending unsolicited
 * replies, udhcpc against dnsmasq. tcpdump on the router's bridge (in
 * promiscuous mode it sees every frame the bridge forwards) records each
 * scenario; every capture goes through pcap-in → lan-watch in a real
 * Node-RED and through `ips analyze`, and the same traffic is watched live
 * by a Node-RED inside the router namespace (pcap-in on the bridge,
 * lan-watch polling the kernel's neighbour table).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Alert } from '../../lib/detect/alert';
import { Lab, netnsUnavailable, toolMissing, RASPBERRY_PI_MAC, type Netns } from '../support/netns';
import { startRuntime, type Runtime } from '../support/red-runtime';
import { startChildRuntime, type ChildRuntime } from '../support/red-process';
import { jsonlAlerts, runIps } from '../support/ips-cli';
import { captureIn, runFor } from '../support/detect-lab';

const NET = '10.66.0';
const GW = `${NET}.1`;
const VIC = `${NET}.20`;
const ATK = `${NET}.66`;
const MOB = `${NET}.30`;
const VIC_MAC = '02:66:00:00:00:20';
const ATK_MAC = '02:66:00:00:00:66';
const MOB_MAC = '02:66:00:00:00:30';
const GW_MAC = '02:66:00:00:00:01';
const DEV_MAC = RASPBERRY_PI_MAC;
const DEV_HOSTNAME = 'garden-cam';
const VIC6 = 'fd66::20';
const ATK6 = 'fd66::66';
/** The attacker's second MAC: its kernel announces its addresses under it. */
const ATK_MAC2 = '02:66:00:00:00:67';

type AlertWithNames = Alert & { srcVendor?: string; srcHostname?: string };
/** 'rule srcMac' pairs, sorted and unique. */
const summary = (alerts: readonly Alert[]): string[] => [...new Set(alerts.map((a) => `${a.rule} ${a.srcMac ?? '-'}`))].sort();

describe('lan-watch: ARP spoofing, new devices and benign LAN traffic in namespaces', () => {
  let skip: string | null = null;
  let lab: Lab;
  let rtr: Netns;
  let vic: Netns;
  let atk: Netns;
  let dev: Netns;
  let mob: Netns;
  const ifs: Record<string, string> = {};
  let tmp = '';
  let leases = '';
  let dhcpScript = '';
  /** The runtime that analyses the captures (in this process). */
  let files: Runtime | null = null;
  /** The live watch, in the router namespace. */
  let live: ChildRuntime | null = null;
  const captures: Record<string, string> = {};
  const liveAlerts: Record<string, Alert[]> = {};
  /** Packets pcap-in read from each capture. */
  const packets: Record<string, number> = {};

  /** Settings of the capture analysis (node and CLI alike): the gateway given, the LAN's first devices known. */
  const fileSettings = { gateways: GW, learnS: 0, knownDevices: [GW_MAC, VIC_MAC, ATK_MAC, MOB_MAC].join(', ') };

  async function dhcp(): Promise<void> {
    await dev.exec('udhcpc', ['-i', ifs.dev, '-n', '-q', '-f', '-t', '5', '-T', '1', '-s', dhcpScript, '-x', `hostname:${DEV_HOSTNAME}`], { timeoutMs: 20_000 });
  }

  /** Record `traffic` on the router's bridge into <name>.pcap, and what the live watch raised meanwhile. */
  async function scenario(name: string, traffic: () => Promise<unknown>): Promise<void> {
    const file = path.join(tmp, `${name}.pcap`);
    const from = live!.inbox('liveAlerts').length;
    await captureIn(rtr, 'br0', file, async () => {
      await traffic();
      // the live watch's next poll and batch
      await new Promise((r) => setTimeout(r, 2500));
    });
    captures[name] = file;
    liveAlerts[name] = live!.inbox('liveAlerts').slice(from).map((m) => m.msg.payload as Alert);
  }

  /** arping sends what it is told and exits 1 when nothing answers (replies are never answered): only other failures count. */
  async function arping(ns: Netns, args: string[]): Promise<void> {
    try {
      await ns.exec('arping', ['-q', ...args]);
    } catch (err) {
      if ((err as { code?: number }).code !== 1) throw err;
    }
  }

  /** The capture through pcap-in → lan-watch (reset first) in a real Node-RED. */
  async function analyze(name: string): Promise<AlertWithNames[]> {
    const rt = files!;
    (rt.RED.nodes.getNode('lan-node') as { receive(msg: object): void }).receive({ topic: 'reset' });
    const alerts = rt.inbox('alerts');
    const from = alerts.length;
    const doneCount = rt.inbox('done').length;
    (rt.RED.nodes.getNode('pcap') as { receive(msg: object): void }).receive({ filename: captures[name] });
    const done = await rt.waitFor('done', (m) => m.length > doneCount, 60_000);
    const report = done[done.length - 1].msg.payload as { packets: number; error?: string };
    assert.equal(report.error, undefined);
    packets[name] = report.packets;
    let seen = -1;
    while (seen !== alerts.length) {
      seen = alerts.length;
      await new Promise((r) => setTimeout(r, 300));
    }
    return alerts.slice(from).map((m) => m.msg.payload as AlertWithNames);
  }

  async function cli(name: string): Promise<Alert[]> {
    const cfg = path.join(tmp, 'cli.json');
    fs.writeFileSync(cfg, JSON.stringify({ 'lan-watch': fileSettings }));
    const r = await runIps(['analyze', captures[name], '--config', cfg, '--format', 'jsonl']);
    assert.equal(r.code, 0, r.stderr);
    return jsonlAlerts(r.stdout).filter((a) => a.category === 'lan');
  }

  before(async () => {
    skip = (await netnsUnavailable()) ?? (await toolMissing('tcpdump', 'arpspoof', 'arping', 'dnsmasq', 'udhcpc'));
    if (skip) return;
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-lan-'));
    lab = new Lab();
    rtr = await lab.host('rtr');
    vic = await lab.host('vic');
    atk = await lab.host('atk');
    dev = await lab.host('dev');
    mob = await lab.host('mob');
    // no IPv6 on the router's bridges and ports (their link-local chatter would come from MACs no device has) nor on the joining device (its first frame is then its DHCP request)
    for (const ns of [rtr, dev]) await ns.exec('sysctl', ['-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    // the access points are bridges in the router's namespace: without this, each would answer ARP for the gateway's address with its own MAC (a real ARP conflict, reported as such)
    await rtr.exec('sysctl', ['-q', '-w', 'net.ipv4.conf.all.arp_ignore=1']);
    // the router: br0 (the LAN, the gateway's address) and two access points, each a bridge with an uplink into br0
    await rtr.exec('ip', ['link', 'add', 'br0', 'address', GW_MAC, 'type', 'bridge']);
    await rtr.exec('ip', ['addr', 'add', `${GW}/24`, 'dev', 'br0']);
    await rtr.exec('ip', ['link', 'set', 'br0', 'up']);
    for (const ap of ['ap1', 'ap2']) {
      await rtr.exec('ip', ['link', 'add', ap, 'type', 'bridge']);
      await rtr.exec('ip', ['link', 'add', `${ap}up`, 'type', 'veth', 'peer', 'name', `${ap}dn`]);
      await rtr.exec('ip', ['link', 'set', `${ap}up`, 'master', 'br0']);
      await rtr.exec('ip', ['link', 'set', `${ap}dn`, 'master', ap]);
      for (const l of [ap, `${ap}up`, `${ap}dn`]) await rtr.exec('ip', ['link', 'set', l, 'up']);
    }
    const join = async (ns: Netns, name: string, addr: string, mac: string, bridge: string): Promise<void> => {
      const { aIf, bIf } = await lab.link(rtr, '', ns, addr, { bMac: mac });
      await rtr.exec('ip', ['link', 'set', aIf, 'master', bridge]);
      ifs[name] = bIf;
      ifs[`${name}Port`] = aIf;
    };
    await join(vic, 'vic', `${VIC}/24`, VIC_MAC, 'br0');
    await join(atk, 'atk', `${ATK}/24`, ATK_MAC, 'br0');
    await join(dev, 'dev', '', DEV_MAC, 'br0');
    await join(mob, 'mob', `${MOB}/24`, MOB_MAC, 'ap1');
    await vic.exec('ip', ['route', 'add', 'default', 'via', GW]);
    await vic.exec('ip', ['-6', 'addr', 'add', `${VIC6}/64`, 'dev', ifs.vic, 'nodad']);
    await atk.exec('ip', ['-6', 'addr', 'add', `${ATK6}/64`, 'dev', ifs.atk, 'nodad']);
    // unsolicited neighbour advertisements when the attacker's MAC changes (as a NIC swap or a spoofing tool would)
    await atk.exec('sysctl', ['-q', '-w', 'net.ipv6.conf.all.ndisc_notify=1', `net.ipv6.conf.${ifs.atk}.ndisc_notify=1`]);
    leases = path.join(tmp, 'dnsmasq.leases');
    rtr.spawn('dnsmasq', ['--no-daemon', '--conf-file=/dev/null', '--port=0', '--interface=br0', '--bind-interfaces',
      `--dhcp-range=${NET}.100,${NET}.150,255.255.255.0,1h`, `--dhcp-leasefile=${leases}`, `--pid-file=${path.join(tmp, 'dnsmasq.pid')}`, '--user=root', '--dhcp-authoritative']);
    dhcpScript = path.join(tmp, 'udhcpc.sh');
    fs.writeFileSync(dhcpScript, [
      '#!/bin/sh',
      'case "$1" in',
      '  deconfig) ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;',
      '  bound|renew) ip -4 addr flush dev "$interface"; ip -4 addr add "$ip/$subnet" dev "$interface" ;;',
      'esac',
      '',
    ].join('\n'), { mode: 0o755 });
    // the LAN has been talking before the watch starts
    await vic.exec('ping', ['-c', '1', '-W', '2', GW]);
    await mob.exec('ping', ['-c', '1', '-W', '2', GW]);
    live = await startChildRuntime([
      { id: 'tab', type: 'tab', label: 'router' },
      { id: 'cap', type: 'pcap-in', z: 'tab', source: 'live', iface: 'br0', filter: '', batchSize: 64, batchDelayMs: 50, autostart: true, wires: [['lw'], []] },
      { id: 'lw', type: 'lan-watch', z: 'tab', name: 'lan watch', pollS: 1, iface: 'br0', leaseFile: leases, learnS: 0, knownDevices: [VIC_MAC, ATK_MAC, MOB_MAC].join(' '), wires: [[], ['liveAlerts']] },
      { id: 'liveAlerts', type: 'debug', z: 'tab', active: false, tosidebar: false, wires: [] },
    ], ['liveAlerts'], { ns: rtr });
    files = await startRuntime([
      { id: 'tab', type: 'tab', label: 'captures' },
      { id: 'pcap', z: 'tab', type: 'pcap-in', name: '', source: 'file', filename: '', mode: 'analyze', autostart: false, wires: [['lan-node'], ['done']] },
      { id: 'lan-node', z: 'tab', type: 'lan-watch', name: 'lan', ...fileSettings, wires: [[], ['alerts']] },
      { id: 'alerts', z: 'tab', type: 'debug', active: false, wires: [] },
      { id: 'done', z: 'tab', type: 'debug', active: false, wires: [] },
    ]);
    files.inbox('alerts');
    files.inbox('done');
    // wait for the live capture to run: the victim's next ping is seen
    await new Promise((r) => setTimeout(r, 1500));

    await scenario('benign', async () => {
      await dhcp(); // a new device joins
      await dhcp(); // and renews its lease
      await arping(vic, ['-U', '-S', VIC, '-i', ifs.vic, '-c', '3', '-W', '0.2', VIC]); // its own address, announced
      // roaming: the mobile's port moves from one access point to the other, same MAC and address
      await rtr.exec('ip', ['link', 'set', ifs.mobPort, 'master', 'ap2']);
      await mob.exec('ip', ['neigh', 'flush', 'all']);
      await mob.exec('ping', ['-c', '2', '-i', '0.2', '-W', '2', GW]);
      await arping(mob, ['-U', '-S', MOB, '-i', ifs.mob, '-c', '2', '-W', '0.2', MOB]);
    });
    await scenario('arpspoof', async () => {
      await vic.exec('ping', ['-c', '1', '-W', '2', GW]);
      // both ways: the victim is told the gateway is at the attacker, the gateway that the victim is
      await runFor(atk, 5, 'arpspoof', ['-i', ifs.atk, '-r', '-t', VIC, GW]);
    });
    await scenario('arping', async () => {
      await vic.exec('ip', ['neigh', 'flush', 'all']);
      await vic.exec('ping', ['-c', '1', '-W', '2', GW]);
      // unsolicited replies: the gateway's address claimed to everyone, then a burst of replies no one asked for
      await arping(atk, ['-U', '-P', '-S', GW, '-i', ifs.atk, '-c', '3', '-W', '0.2', GW]);
      await arping(atk, ['-P', '-S', `${NET}.77`, '-t', VIC_MAC, '-i', ifs.atk, '-c', '15', '-W', '0.1', VIC]);
    });
    await scenario('ndp', async () => {
      // the victim's IPv6 address in use (its solicitation for the attacker's address carries its MAC) …
      await vic.exec('ping', ['-6', '-c', '1', '-W', '2', ATK6]);
      // … then the attacker takes it too and changes its MAC: its kernel advertises every address it holds under the new MAC
      await atk.exec('ip', ['-6', 'addr', 'add', `${VIC6}/64`, 'dev', ifs.atk, 'nodad']);
      await atk.exec('ip', ['link', 'set', ifs.atk, 'address', ATK_MAC2]);
    });
  });

  after(async () => {
    try {
      await live?.stop();
      await files?.stop();
    } finally {
      await lab?.cleanup();
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('a device joining over DHCP is a new device, with vendor and host name; its renewal, an own-address announcement and roaming raise nothing', async (t) => {
    if (skip) return t.skip(skip);
    const alerts = await analyze('benign');
    assert.deepEqual(summary(alerts), [`lan.device.new ${DEV_MAC}`]);
    const a = alerts[0];
    assert.equal(a.srcVendor, 'Raspberry Pi Foundation');
    assert.equal(a.srcHostname, DEV_HOSTNAME);
    assert.equal(a.offender, undefined);
    assert.deepEqual(summary(await cli('benign')), [`lan.device.new ${DEV_MAC}`]);
    // live: the same device, named from the DHCP packet or the lease file
    const seen = liveAlerts.benign as AlertWithNames[];
    assert.deepEqual(summary(seen), [`lan.device.new ${DEV_MAC}`]);
    assert.equal(seen[0].srcHostname, DEV_HOSTNAME);
  });

  it("arpspoof poisoning the victim's view of the gateway raises lan.spoof.gateway naming the attacker's MAC", async (t) => {
    if (skip) return t.skip(skip);
    const alerts = await analyze('arpspoof');
    const gw = alerts.filter((a) => a.rule === 'lan.spoof.gateway');
    assert.ok(gw.length >= 1, summary(alerts).join(', '));
    assert.ok(gw.every((a) => a.offender === ATK_MAC && a.src === GW), JSON.stringify(gw));
    assert.match(gw[0].reason, new RegExp(`${ATK_MAC} claims the gateway's address ${GW.replace(/\./g, '\\.')} by ARP; the gateway is ${GW_MAC}`));
    // and the gateway's view of the victim: two MACs for the victim's address, no offender
    assert.ok(alerts.some((a) => a.rule === 'lan.spoof.conflict' && a.src === VIC && a.offender === undefined), summary(alerts).join(', '));
    assert.ok(!alerts.some((a) => a.offender === GW_MAC || a.offender === VIC_MAC), 'never the gateway or the victim');
    assert.deepEqual(summary(await cli('arpspoof')), summary(alerts));
    // live, with the gateway learned from the router's own address on br0
    const seen = liveAlerts.arpspoof;
    assert.ok(seen.some((a) => a.rule === 'lan.spoof.gateway' && a.offender === ATK_MAC), summary(seen).join(', '));
    assert.ok(!seen.some((a) => a.offender === GW_MAC), 'never the gateway');
  });

  it('arping: unsolicited replies claiming the gateway and a burst claiming another address raise lan.spoof.gateway and lan.spoof.unsolicited', async (t) => {
    if (skip) return t.skip(skip);
    const alerts = await analyze('arping');
    assert.deepEqual(summary(alerts), [`lan.spoof.gateway ${ATK_MAC}`, `lan.spoof.unsolicited ${ATK_MAC}`], `${packets.arping} packets`);
    const burst = alerts.find((a) => a.rule === 'lan.spoof.unsolicited')!;
    assert.equal(burst.offender, ATK_MAC);
    assert.match(burst.reason, /10 ARP replies from 02:66:00:00:00:66 that no request asked for within 30 s \(threshold 10\)/);
    assert.deepEqual(summary(await cli('arping')), summary(alerts));
    const seen = summary(liveAlerts.arping);
    for (const s of summary(alerts)) assert.ok(seen.includes(s), `live: ${seen.join(', ')}`);
  });

  it("IPv6: an unsolicited neighbour advertisement for the victim's address under another MAC raises lan.spoof.conflict (no offender)", async (t) => {
    if (skip) return t.skip(skip);
    const alerts = await analyze('ndp');
    // the attacker's own address under its new MAC is a conflict too: the packets cannot tell a NIC swap from a second device
    const conflict = alerts.filter((a) => a.rule === 'lan.spoof.conflict').sort((a, b) => a.src.localeCompare(b.src));
    assert.deepEqual(conflict.map((a) => [a.src, a.srcMac, a.offender ?? null]), [[VIC6, ATK_MAC2, null], [ATK6, ATK_MAC2, null]], summary(alerts).join(', '));
    assert.match(conflict[0].reason, /claims fd66::20 by neighbour advertisement while 02:66:00:00:00:20 holds it/);
    assert.deepEqual(summary(await cli('ndp')), summary(alerts));
    assert.ok(summary(liveAlerts.ndp).includes(`lan.spoof.conflict ${ATK_MAC2}`), summary(liveAlerts.ndp).join(', '));
  });

  it("live: a poisoned entry in the router kernel's neighbour table is reported from the table alone", async (t) => {
    if (skip) return t.skip(skip);
    const box = live!.inbox('liveAlerts');
    const from = box.length;
    // the victim's cache may still hold what the attacker told it
    await vic.exec('ip', ['neigh', 'flush', 'all']);
    await vic.exec('ping', ['-c', '1', '-W', '2', GW]);
    // the kernel's entry for the victim rewritten to the attacker's MAC, no packet claiming it
    await rtr.exec('ip', ['neigh', 'replace', VIC, 'lladdr', ATK_MAC, 'dev', 'br0', 'nud', 'stale']);
    const got = await live!.waitFor('liveAlerts', (m) => m.slice(from).some((x) => (x.msg.payload as Alert).rule === 'lan.spoof.conflict'), 15_000);
    const conflict = got.slice(from).map((m) => m.msg.payload as Alert).find((a) => a.rule === 'lan.spoof.conflict')!;
    assert.equal(conflict.src, VIC);
    assert.equal(conflict.srcMac, ATK_MAC);
    assert.match(conflict.reason, /in the kernel's neighbour table while 02:66:00:00:00:20 holds it/);
  });
});
