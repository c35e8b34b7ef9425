import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LanWatch } from '../../../lib/net/lan-watch';
import type { Alert } from '../../../lib/detect/alert';
import { arpPacket, dhcpPacket } from '../../support/lan-frames';
import { RASPBERRY_PI_MAC } from '../../support/netns';

const T0 = 1_700_000_000_000;
const quiet = { alerts: () => assert.fail('no poll runs with pollS 0'), error: (err: Error) => assert.fail(err) };

test("alerts name the claiming MAC's vendor and DHCP host name, never the claimed address's", () => {
  const watch = new LanWatch('lan', { learnS: 0, gateways: '192.168.1.1', leaseFile: '' }, quiet);
  const gw = '02:00:00:00:00:01';
  const vic = '02:00:00:00:00:20';
  const alerts = watch.process([
    dhcpPacket(T0, 1, { clientMac: RASPBERRY_PI_MAC, hostname: 'pi-cam' }),
    arpPacket(T0 + 1, 1, vic, '192.168.1.20', '', '192.168.1.1'),
    arpPacket(T0 + 2, 2, gw, '192.168.1.1', vic, '192.168.1.20'),
    arpPacket(T0 + 3, 2, RASPBERRY_PI_MAC, '192.168.1.1', vic, '192.168.1.20'),
  ]) as (Alert & { srcVendor?: string; srcHostname?: string })[];
  const spoof = alerts.find((a) => a.rule === 'lan.spoof.gateway')!;
  assert.equal(spoof.src, '192.168.1.1');
  assert.equal(spoof.srcVendor, 'Raspberry Pi Foundation');
  assert.equal(spoof.srcHostname, 'pi-cam');
  const joined = alerts.find((a) => a.rule === 'lan.device.new' && a.srcMac === RASPBERRY_PI_MAC)!;
  assert.equal(joined.srcHostname, 'pi-cam');
  assert.equal(alerts.find((a) => a.rule === 'lan.device.new' && a.srcMac === vic)?.srcVendor, 'randomized (locally administered)');
  watch.close();
});

test('configure takes the watch settings and the detector settings together; an unknown key changes nothing', () => {
  const watch = new LanWatch('lan', { leaseFile: '' }, quiet);
  watch.configure({ learnS: 0, pollS: 0, iface: 'br0' });
  assert.equal(watch.settings.iface, 'br0');
  assert.equal(watch.detector.settings.learnS, 0);
  assert.throws(() => watch.configure({ learnS: 5, bogus: 1 }), /unknown setting 'bogus'/);
  assert.equal(watch.detector.settings.learnS, 0);
  watch.close();
});
