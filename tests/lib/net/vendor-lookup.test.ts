/**
 * VendorLookup (vendor-lookup's engine) without Node-RED, on dnsmasq lease
 * files on disk: the first reading before any lookup, an unknown address
 * making it read again, runtime settings, a lease file it cannot read
 * reported once and recovered from, a reading of replaced tables ignored.
 * (The kernel neighbour table is read in tests/lib/net/neighbours.test.ts
 * and tests/integration/router.test.ts.)
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { applySettings, defaultsOf } from '../../../lib/base/settings';
import { VendorLookup, vendorLookupSchema, type VendorLookupSettings } from '../../../lib/net/vendor-lookup';
import { until } from '../../support/wait';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-vlookup-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const PI = '0 b8:27:eb:5a:01:02 192.168.4.57 pi-camera *\n';
const NAS = '0 00:11:32:aa:bb:cc 192.168.4.60 nas *\n';

function leaseFile(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

function lookup(patch: Record<string, unknown>, options: { missRefreshMs?: number } = {}) {
  const settings: VendorLookupSettings = applySettings(vendorLookupSchema, defaultsOf(vendorLookupSchema), { neighbours: false, ...patch });
  const errors: string[] = [];
  let reads = 0;
  const l = new VendorLookup(settings, { error: (err) => errors.push(err.message), read: () => void reads++ }, options);
  return { l, settings, errors, reads: () => reads };
}

describe('VendorLookup', () => {
  test('reads the leases before the first lookup and enriches Device stats with MAC, vendor and hostname', async () => {
    const { l, errors } = lookup({ leaseFile: leaseFile('one', PI) });
    try {
      await l.start();
      assert.equal(l.hosts, 1);
      const devices = [{ ip: '192.168.4.57' }];
      assert.equal(l.enrich(devices), 1);
      assert.deepEqual(devices, [{ ip: '192.168.4.57', mac: 'b8:27:eb:5a:01:02', vendor: 'Raspberry Pi Foundation', hostname: 'pi-camera' }]);
      assert.deepEqual(errors, []);
    } finally {
      l.close();
    }
  });

  test('an address it does not know makes it read the tables again, not only at the next period', async () => {
    const file = leaseFile('grows', PI);
    const { l } = lookup({ leaseFile: file, refreshS: 86_400 }, { missRefreshMs: 10 });
    try {
      await l.start();
      fs.appendFileSync(file, NAS);
      // A miss reads again if the last reading is older than 10 ms: ask until it has happened.
      const nas = { ip: '192.168.4.60' } as Record<string, unknown>;
      await until(() => l.enrich([nas]) > 0, 'the new lease to be read', 10_000, 20);
      assert.equal(nas.hostname, 'nas');
      assert.equal(l.hosts, 2);
    } finally {
      l.close();
    }
  });

  test('runtime settings: another lease file is read at once; custom properties; blank lease file = none', async () => {
    const { l, settings } = lookup({ leaseFile: leaseFile('first', PI) });
    try {
      await l.start();
      const custom = applySettings(vendorLookupSchema, settings, { leaseFile: leaseFile('second', NAS), fields: 'custom', ipField: 'host', macField: '', vendorField: 'maker', hostnameField: 'name', outMacField: '' });
      l.configure(custom, settings);
      await until(() => l.hosts === 1 && l.enrich({ host: '192.168.4.60' }) === 1, 'the second lease file to be read');
      const o: Record<string, unknown> = { host: '192.168.4.60', ip: '192.168.4.57' };
      l.enrich(o);
      assert.deepEqual(o, { host: '192.168.4.60', ip: '192.168.4.57', maker: 'Synology Incorporated', name: 'nas' });
      l.configure(applySettings(vendorLookupSchema, custom, { leaseFile: '' }), custom);
      await until(() => l.hosts === 0, 'no leases without a lease file');
    } finally {
      l.close();
    }
  });

  test('a lease file it cannot read is reported once, lookups go on, and a reading that works clears it', async () => {
    const unreadable = path.join(dir, 'a-directory');
    fs.mkdirSync(unreadable);
    const { l, settings, errors, reads } = lookup({ leaseFile: unreadable }, { missRefreshMs: 0 });
    try {
      await l.start();
      assert.equal(errors.length, 1);
      assert.match(errors[0], /cannot read lease file .*a-directory/);
      assert.equal(l.fault, errors[0]);
      // An unknown address starts a second reading, which fails the same way: not reported again.
      const mac = { ip: '192.168.4.99', mac: 'b8:27:eb:00:00:01' } as Record<string, unknown>;
      l.enrich(mac);
      assert.equal(mac.vendor, 'Raspberry Pi Foundation', 'the vendor needs no table');
      await l.refresh();
      assert.equal(errors.length, 1);
      assert.equal(l.fault, errors[0]);
      l.configure(applySettings(vendorLookupSchema, settings, { leaseFile: leaseFile('good', PI) }), settings);
      await until(() => reads() > 0, 'a reading that works');
      assert.equal(l.fault, null);
      assert.equal(errors.length, 1);
    } finally {
      l.close();
    }
  });

  test('a reading of the old tables that ends after a change of lease file is ignored', async () => {
    const unreadable = path.join(dir, 'another-directory');
    fs.mkdirSync(unreadable);
    const { l, settings, errors } = lookup({ leaseFile: unreadable });
    try {
      const first = l.start(); // reads the directory (fails) ...
      l.configure(applySettings(vendorLookupSchema, settings, { leaseFile: leaseFile('current', PI) }), settings); // ... while the new file is read
      await first;
      await l.refresh(); // joins the reading of the new file if it is still under way
      assert.deepEqual(errors, [], 'the failure of the file no longer used was reported');
      assert.equal(l.fault, null);
      assert.equal(l.hosts, 1);
    } finally {
      l.close();
    }
  });

  test('the schema refuses a relative lease file and bad property names, naming each', () => {
    assert.throws(() => applySettings(vendorLookupSchema, defaultsOf(vendorLookupSchema), { leaseFile: 'leases.txt', ipField: 'a b' }),
      /leaseFile: 'leases\.txt' is relative: the lease file must be an absolute path; ipField: 'a b' is not a property name/);
  });
});
