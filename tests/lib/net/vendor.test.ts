/** MAC → manufacturer on the real IEEE data from npm oui-data. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildVendorTable, LOCALLY_ADMINISTERED, lookupVendor, macPrefix36, normalizeMac, vendorTable } from '../../../lib/net/vendor';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const raw = require('oui-data') as Record<string, string>;
const firstLine = (s: string) => s.split('\n')[0].trim();

describe('vendor lookup', () => {
  test('MA-L: Raspberry Pi OUIs in every common spelling', () => {
    for (const mac of ['b8:27:eb:12:34:56', 'B8-27-EB-12-34-56', 'b827.eb12.3456', 'B827EB123456']) {
      assert.equal(lookupVendor(mac), firstLine(raw.B827EB), mac);
    }
    assert.equal(lookupVendor('dc:a6:32:01:02:03'), firstLine(raw.DCA632));
  });

  test('MA-M and MA-S win over the IEEE Registration Authority block they sit in (longest match)', () => {
    // Prefixes whose 24-bit parent is registered under another name, so only the longest match gives the right answer.
    const nested = (len: number) => Object.keys(raw).find((k) => k.length === len && raw[k.slice(0, 6)] && firstLine(raw[k.slice(0, 6)]) !== firstLine(raw[k]))!;
    const maM = nested(7);
    const maS = nested(9);
    assert.ok(maM && maS, 'no nested MA-M/MA-S prefixes in oui-data');
    const mac = (hex: string) => (hex + '0'.repeat(12 - hex.length)).match(/../g)!.join(':');
    assert.equal(lookupVendor(mac(maM)), firstLine(raw[maM]));
    assert.equal(lookupVendor(mac(maS)), firstLine(raw[maS]));
  });

  test('locally administered (randomised) MACs are reported as such, not as a vendor', () => {
    assert.equal(lookupVendor('da:a6:32:01:02:03'), LOCALLY_ADMINISTERED);
    assert.equal(lookupVendor('02:00:00:00:00:01'), LOCALLY_ADMINISTERED);
  });

  test('invalid MACs and unassigned prefixes give null', () => {
    for (const bad of ['', 'b8:27:eb', 'zz:27:eb:12:34:56', 'b8:27:eb:12:34:56:78', '192.168.1.1']) assert.equal(lookupVendor(bad), null, bad);
    const t = buildVendorTable({ '001122': 'Only Vendor\naddress' });
    assert.equal(lookupVendor('00:11:22:33:44:55', t), 'Only Vendor');
    assert.equal(lookupVendor('00:11:23:33:44:55', t), null);
    assert.equal(macPrefix36('00:11:22:33:44:55'), 0x001122334);
    assert.equal(normalizeMac('B8-27-EB-12-34-56'), 'b8:27:eb:12:34:56');
    assert.equal(normalizeMac('nope'), null);
  });

  test('the table holds all three registries', () => {
    const t = vendorTable();
    assert.ok(t.l24.size > 30_000 && t.l28.size > 1000 && t.l36.size > 1000, `${t.l24.size}/${t.l28.size}/${t.l36.size}`);
  });
});
