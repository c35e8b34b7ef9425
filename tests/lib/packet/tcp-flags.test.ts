import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { flagBitsOf, tcpFlagBits, TCP_FLAG_TEXT } from '../../../lib/packet/tcp-flags';
import { pkt } from '../../support/packets';

describe('TCP flag bits and text', () => {
  it('the text of every flag byte parses back to that byte', () => {
    for (let b = 0; b < 256; b++) assert.equal(tcpFlagBits(TCP_FLAG_TEXT[b]), b, TCP_FLAG_TEXT[b]);
    assert.equal(TCP_FLAG_TEXT[0x12], 'SA');
  });

  it("a packet's bits: the decoder's flagBits first, else its flags text, else -1", () => {
    const base = { ts: 1, src: '10.0.0.1', dst: '10.0.0.2', proto: 'tcp' } as const;
    assert.equal(flagBitsOf(pkt({ ...base, flags: 'SA', flagBits: 0x12 })), 0x12);
    // a packet made by hand (or a function node) with the text only
    assert.equal(flagBitsOf(pkt({ ...base, flags: 'AS' })), 0x12);
    assert.equal(flagBitsOf(pkt({ ...base, flags: '' })), 0);
    assert.equal(flagBitsOf(pkt(base)), -1);
  });
});
