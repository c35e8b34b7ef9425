import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AnchorAutomaton } from '../../../../lib/detect/payload/anchors';
import { PayloadMatcher } from '../../../../lib/detect/payload/matcher';
import { compileRules } from '../../../../lib/detect/payload/rules';
import type { Packet } from '../../../../lib/packet/types';

function found(ac: AnchorAutomaton, text: string | Buffer, rules: number): number[] {
  const f = new Uint8Array(rules);
  ac.scan(typeof text === 'string' ? Buffer.from(text, 'latin1') : text, f);
  return [...f.keys()].filter((i) => f[i] === 1);
}

/** The indexes of `words` occurring in `b`, ignoring case: a naive search to check the automaton against. */
function naiveFound(words: string[], b: Buffer): number[] {
  const lower = Buffer.from(b.toString('latin1').toLowerCase(), 'latin1');
  return words.map((w, i) => (lower.includes(Buffer.from(w, 'latin1')) ? i : -1)).filter((i) => i >= 0);
}

describe('AnchorAutomaton', () => {
  it('finds overlapping and nested anchors, at the start and at the end', () => {
    const ac = new AnchorAutomaton([{ text: 'he', rule: 0 }, { text: 'she', rule: 1 }, { text: 'hers', rule: 2 }, { text: 'his', rule: 3 }]);
    assert.deepEqual(found(ac, 'ushers', 4), [0, 1, 2]);
    assert.deepEqual(found(ac, 'his', 4), [3]);
    assert.deepEqual(found(ac, 'xxhe', 4), [0]);
    assert.deepEqual(found(ac, 'hxixs', 4), []);
  });

  it('folds ASCII and latin1 letter case', () => {
    const ac = new AnchorAutomaton([{ text: 'union', rule: 0 }, { text: 'Café', rule: 1 }]);
    assert.deepEqual(found(ac, 'UnIoN', 2), [0]);
    assert.deepEqual(found(ac, 'CAFÉ', 2), [1]);
  });

  it('agrees with a naive search on random bytes', () => {
    const words = ['or', 'and', '../', '${', 'script', 'id', '\xff\x00', 'a'];
    const ac = new AnchorAutomaton(words.map((text, rule) => ({ text, rule })));
    let seed = 7;
    for (let n = 0; n < 300; n++) {
      const b = Buffer.alloc(200);
      for (let i = 0; i < b.length; i++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        // Mostly a small alphabet so anchors occur often.
        b[i] = '.aAnNdDoOrRiI${}/sScCpPtT\xff\x00'.charCodeAt((seed >> 16) % 27);
      }
      const expected = naiveFound(words, b);
      assert.deepEqual(found(ac, b, words.length), expected, b.toString('latin1'));
    }
  });

  it('agrees with a naive search when every anchor begins with the same byte (the scan jumps between its occurrences)', () => {
    const words = ['${', '$${x', '$'.repeat(5), '$}'];
    const ac = new AnchorAutomaton(words.map((text, rule) => ({ text, rule })));
    let seed = 11;
    for (let n = 0; n < 300; n++) {
      const b = Buffer.alloc(1 + (n % 120));
      for (let i = 0; i < b.length; i++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        b[i] = 'a$${}xX'.charCodeAt((seed >> 16) % 7);
      }
      const expected = naiveFound(words, b);
      assert.deepEqual(found(ac, b, words.length), expected, b.toString('latin1'));
      // A plain Uint8Array (not a Buffer) gives the same answer.
      const f = new Uint8Array(words.length);
      ac.scan(new Uint8Array(b), f);
      assert.deepEqual([...f.keys()].filter((i) => f[i] === 1), expected, b.toString('latin1'));
    }
  });
});

describe('anchored rules', () => {
  const pkt = (text: string): Packet => {
    const payload = Buffer.from(text, 'latin1');
    return { ts: 1, len: payload.length, caplen: payload.length, ip: 4, src: '10.0.0.2', dst: '10.0.0.1', proto: 'tcp', sport: 40000, dport: 80, payload };
  };

  it('confirms a regex rule only where one of its anchors occurs; a rule without anchors is always tried', () => {
    const m = new PayloadMatcher(compileRules([
      { id: 't.anchored', sid: 1, name: 'a', pattern: 'ev[il]+', regex: true, anchors: ['evil', 'evii'] },
      { id: 't.free', sid: 2, name: 'b', pattern: 'ev[il]+', regex: true },
    ]));
    assert.deepEqual(m.match(pkt('EVIL')).map((h) => h.rule.id).sort(), ['t.anchored', 't.free']);
    // "evl" matches the regex but holds no anchor: the anchors promised too much, and only the free rule sees it.
    assert.deepEqual(m.match(pkt('evl')).map((h) => h.rule.id), ['t.free']);
  });

  it('uses a literal rule as its own anchor, also case-sensitive ones', () => {
    const m = new PayloadMatcher(compileRules([{ id: 't.lit', sid: 1, name: 'a', pattern: 'Secret(', nocase: false }]));
    assert.equal(m.match(pkt('a Secret( b')).length, 1);
    assert.equal(m.match(pkt('a secret( b')).length, 0);
  });
});
