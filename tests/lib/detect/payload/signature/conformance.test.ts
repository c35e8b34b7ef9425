/**
 * Rule-language conformance: rules and payloads with the expected match or
 * no match, written from the keyword descriptions of the Snort 3 and
 * Suricata rule documentation (content modifiers, relative matches,
 * negation, buffers, flow direction, header lists and variables, thresholds,
 * flowbits across packets). Each row runs its packets in order through the
 * payload-match input path (StreamInspector: TCP reassembly, HTTP fields;
 * a packet that gives no unit shown alone to content-less rules, as the
 * detector does) and the engine, and lists, per packet, the sids that
 * matched. Each packet of a row is its own TCP connection (another client
 * port) unless the row is about one connection.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Packet } from '../../../../../lib/packet/types';
import { SignatureEngine } from '../../../../../lib/detect/payload/signature/engine';
import { StreamInspector, streamSchema, streamSettings } from '../../../../../lib/detect/stream/inspector';
import { defaultsOf } from '../../../../../lib/base/settings';
import { tcpFlagBits } from '../../../../../lib/packet/tcp-flags';
import { parseSignatures } from '../../../../../lib/detect/payload/signature/parse';
import { ruleVars } from '../../../../../lib/detect/payload/signature/vars';

const T0 = 1_700_000_000_000;
const CLIENT = '10.0.0.2';
const SERVER = '192.0.2.80';

interface P {
  /** Payload: text as latin1 bytes. */
  data?: string;
  /** Server → client (ports and addresses swapped). */
  reply?: boolean;
  proto?: Packet['proto'];
  flags?: string;
  src?: string;
  dst?: string;
  sport?: number;
  dport?: number;
  icmpType?: number;
  icmpCode?: number;
  /** Seconds after the row's start. */
  at?: number;
}

/** Next sequence number per TCP direction (`src sport dst dport`), so packets of one connection form a stream. */
type SeqState = Map<string, number>;

function packet(p: P, i: number, seqs: SeqState, oneConnection: boolean): Packet {
  const payload = Buffer.from(p.data ?? '', 'latin1');
  const proto = p.proto ?? 'tcp';
  const ports = proto === 'tcp' || proto === 'udp';
  let [src, dst, sport, dport] = [p.src ?? CLIENT, p.dst ?? SERVER, p.sport ?? (oneConnection ? 43512 : 43512 + i), p.dport ?? 80];
  if (p.reply) [src, dst, sport, dport] = [dst, src, dport, sport];
  const out: Packet = {
    ts: T0 + (p.at ?? i * 0.01) * 1000, len: payload.length + 54, caplen: payload.length + 54, ip: 4, src, dst, proto,
    sport: ports ? sport : undefined, dport: ports ? dport : undefined, flags: proto === 'tcp' ? (p.flags ?? 'PA') : undefined,
    icmpType: p.icmpType, icmpCode: p.icmpCode, payload,
  };
  if (proto === 'tcp') {
    const flags = out.flags as string;
    const here = `${src} ${sport} ${dst} ${dport}`;
    const back = `${dst} ${dport} ${src} ${sport}`;
    const seq = seqs.get(here) ?? 1000;
    seqs.set(here, (seq + payload.length + (flags.includes('S') ? 1 : 0) + (flags.includes('F') ? 1 : 0)) >>> 0);
    out.flagBits = tcpFlagBits(flags);
    out.seq = seq;
    out.ack = seqs.get(back) ?? 0;
  }
  return out;
}

const VARS = ruleVars({ homeNet: ['10.0.0.0/8'], externalNet: '!$HOME_NET', httpPorts: [80, 8080] });

/** The sids matched per packet. */
function run(rules: string, packets: P[], oneConnection = false): number[][] {
  const parsed = parseSignatures(rules, VARS);
  assert.deepEqual(parsed.skipped, [], 'every rule of the row loads');
  const engine = new SignatureEngine(parsed.signatures);
  const streams = new StreamInspector(streamSettings(defaultsOf(streamSchema)));
  const seqs: SeqState = new Map();
  return packets.map((p, i) => {
    const pkt = packet(p, i, seqs, oneConnection);
    const units = streams.inspect(pkt);
    const sids: number[] = [];
    for (const u of units) for (const h of engine.match(u)) sids.push(h.sig.sid);
    if (units.length === 0 && engine.matchesWithoutContent) for (const h of engine.match(streams.alone(pkt))) sids.push(h.sig.sid);
    return sids.sort((a, b) => a - b);
  });
}

interface Row {
  what: string;
  rules: string;
  packets: P[];
  /** Per packet: the sids expected to match. */
  expect: number[][];
  /** The packets (without their own ports) are one TCP connection. */
  oneConnection?: boolean;
}

const R = (opts: string, head = 'alert tcp any any -> any any'): string => `${head} (msg:"t"; ${opts} sid:1;)`;
const GET = (uri: string, headers = 'Host: shop.lan\r\n', body = ''): string => `${body ? 'POST' : 'GET'} ${uri} HTTP/1.1\r\n${headers}${body ? `Content-Length: ${body.length}\r\n` : ''}\r\n${body}`;

/** A rule on the URI and the body (the brief's example), and a login request matching it. */
const UB = R('content:"login"; http_uri; content:"passwd="; http_client_body;', 'alert http any any -> any any');
const LOGIN = GET('/login', 'Host: a\r\n', 'user=a&passwd=x');

const ROWS: Row[] = [
  // content and its modifiers (Snort 3 "content", Suricata "Payload Keywords")
  { what: 'content is case-sensitive', rules: R('content:"abc";'), packets: [{ data: 'xxabcxx' }, { data: 'xxABCxx' }], expect: [[1], []] },
  { what: 'nocase', rules: R('content:"abc"; nocase;'), packets: [{ data: 'xxABCxx' }, { data: 'xxabxcx' }], expect: [[1], []] },
  { what: 'nocase folds ASCII letters only, bytes above 0x7f stay as they are', rules: R('content:"|C0|Ab"; nocase;'), packets: [{ data: '\xc0aB' }, { data: '\xe0ab' }], expect: [[1], []] },
  { what: 'Snort 3 inline modifiers', rules: R('content:"abc",nocase,depth 5;'), packets: [{ data: 'xxABC' }, { data: 'xxxABC' }], expect: [[1], []] },
  { what: 'hex bytes |0d 0a|', rules: R('content:"|0d 0a|Host|3a 20|evil";'), packets: [{ data: 'GET / HTTP/1.1\r\nHost: evil.lan\r\n' }, { data: 'GET / HTTP/1.1\nHost: evil' }], expect: [[1], []] },
  { what: 'offset and depth bound the search', rules: R('content:"def"; offset:3; depth:3;'), packets: [{ data: 'abcdefghi' }, { data: 'abcxdefgh' }, { data: 'defabcxyz' }], expect: [[1], [], []] },
  { what: 'distance:0 within:3 (right after)', rules: R('content:"abc"; content:"def"; distance:0; within:3;'), packets: [{ data: 'abcdef' }, { data: 'abcxdef' }, { data: 'defabc' }], expect: [[1], [], []] },
  { what: 'distance skips bytes', rules: R('content:"abc"; content:"def"; distance:1;'), packets: [{ data: 'abcxdef' }, { data: 'abcdef' }], expect: [[1], []] },
  { what: 'negative distance looks back', rules: R('content:"def"; content:"abc"; distance:-6; within:3;'), packets: [{ data: 'abcdef' }, { data: 'xxxdef' }], expect: [[1], []] },
  { what: 'a failed relative match retries later occurrences', rules: R('content:"a"; content:"b"; distance:0; within:1;'), packets: [{ data: 'a-xab' }, { data: 'a-xa-' }], expect: [[1], []] },
  { what: 'negated content', rules: R('content:"GET"; content:!"Host";'), packets: [{ data: 'GET / HTTP/1.0\r\n\r\n' }, { data: 'GET / HTTP/1.1\r\nHost: a\r\n\r\n' }], expect: [[1], []] },
  { what: 'negated relative content within a window', rules: R('content:"user "; content:!"root"; distance:0; within:6;'), packets: [{ data: 'user root' }, { data: 'user bob, root later' }], expect: [[], [1]] },
  { what: 'startswith and endswith', rules: `${R('content:"GET"; startswith;')}\n${R('content:".exe"; endswith;').replace('sid:1', 'sid:2')}`, packets: [{ data: 'GET /a.exe' }, { data: ' GET /a.exe?x' }], expect: [[1, 2], []] },
  { what: 'fast_pattern on a short content still matches both', rules: R('content:"/"; fast_pattern; content:"admin";'), packets: [{ data: 'GET /x admin' }, { data: 'admin at /' }, { data: 'GET /x' }], expect: [[1], [1], []] },
  // pcre
  { what: 'pcre with i flag', rules: R('pcre:"/^GET\\s+\\/admin/i";'), packets: [{ data: 'get   /ADMIN/' }, { data: 'POST /admin' }], expect: [[1], []] },
  { what: 'pcre R is relative to the previous match', rules: R('content:"id="; pcre:"/^\\d+\'/R";'), packets: [{ data: "q?id=12' or 1=1" }, { data: "q?id=x12'" }], expect: [[1], []] },
  { what: 'negated pcre', rules: R('content:"login"; pcre:!"/password=\\w{8,}/";'), packets: [{ data: 'login&password=abc' }, { data: 'login&password=longenough' }], expect: [[1], []] },
  { what: 'pcre s and m flags', rules: R('pcre:"/^b.c$/sm";'), packets: [{ data: 'a\nb\nc\nd' }, { data: 'a\nbxc d' }], expect: [[1], []] },
  { what: 'pcre x flag drops whitespace and comments', rules: R('pcre:"/a b  c # the letters\\n/x";'), packets: [{ data: 'xabcx' }, { data: 'a b c' }], expect: [[1], []] },
  // buffers: sticky (Suricata 5+, Snort 3) and legacy modifiers (Suricata)
  { what: 'http.uri sticky buffer', rules: R('http.uri; content:"/admin";', 'alert http any any -> any any'), packets: [{ data: GET('/admin/x') }, { data: GET('/', 'Host: a\r\n', 'go=/admin') }], expect: [[1], []] },
  { what: 'http_uri legacy modifier', rules: R('content:"/admin"; http_uri;'), packets: [{ data: GET('/admin/x') }, { data: GET('/', 'Referer: /admin\r\n') }], expect: [[1], []] },
  { what: 'http_uri Snort 3 sticky', rules: R('flow:to_server; http_uri; content:"/admin";'), packets: [{ data: GET('/admin/x') }, { data: GET('/', 'Referer: /admin\r\n') }], expect: [[1], []] },
  { what: 'normalised and raw URI', rules: `${R('http.uri; content:"/a b";')}\n${R('http.uri.raw; content:"%20";').replace('sid:1', 'sid:2')}\n${R('content:"%20"; http_uri;').replace('sid:1', 'sid:3')}`, packets: [{ data: GET('/a%20b') }], expect: [[1, 2]] },
  { what: 'http_header, http_user_agent, http_cookie, http_host', rules: [R('content:"X-Evil"; http_header;'), R('content:"sqlmap"; nocase; http_user_agent;').replace('sid:1', 'sid:2'), R('http.cookie; content:"admin=1";').replace('sid:1', 'sid:3'), R('http.host; content:"evil.lan";').replace('sid:1', 'sid:4')].join('\n'), packets: [{ data: GET('/', 'Host: evil.lan\r\nUser-Agent: SQLMap/1.7\r\nCookie: admin=1\r\nX-Evil: 1\r\n') }, { data: GET('/sqlmap?admin=1&X-Evil=evil.lan') }], expect: [[1, 2, 3, 4], []] },
  { what: 'http_method and http_client_body', rules: `${R('content:"POST"; http_method; content:"passwd"; http_client_body;')}\n${R('http.request_body; content:"passwd";').replace('sid:1', 'sid:2')}`, packets: [{ data: GET('/login', 'Host: a\r\n', 'user=a&passwd=b') }, { data: GET('/passwd') }], expect: [[1, 2], []] },
  { what: 'pcre buffer flags U and P', rules: `${R('pcre:"/\\/admin\\b/U";')}\n${R('pcre:"/passwd=/P";').replace('sid:1', 'sid:2')}`, packets: [{ data: GET('/admin') }, { data: GET('/x', 'Host: /admin\r\n', 'passwd=1') }], expect: [[1], [2]] },
  { what: 'a rule on an HTTP buffer does not match a packet without it', rules: R('http.uri; content:"/";'), packets: [{ data: 'HTTP/1.1 200 OK\r\n\r\n/', reply: true }, { data: 'random / bytes' }], expect: [[], []] },
  // flow
  { what: 'flow:to_server and to_client', oneConnection: true, rules: `${R('flow:to_server; content:"x";')}\n${R('flow:to_client; content:"x";').replace('sid:1', 'sid:2')}`, packets: [{ flags: 'S' }, { reply: true, flags: 'SA' }, { flags: 'A' }, { data: 'x' }, { data: 'x', reply: true }, { data: 'yx' }], expect: [[], [], [], [1], [2], [1]] },
  { what: 'flow:established: after the handshake, or data both ways when picked up midstream', oneConnection: true, rules: R('flow:established,to_server; content:"x";'), packets: [{ data: 'x' }, { data: 'y', reply: true }, { data: 'x' }, { flags: 'S', sport: 43600 }, { reply: true, flags: 'SA', sport: 43600 }, { data: 'x', sport: 43600 }], expect: [[], [], [1], [], [], [1]] },
  { what: 'flow:to_server on a SYN (no connection yet: the flags tell)', rules: `${R('flow:to_server; flags:S;')}\n${R('flow:to_client; flags:SA;').replace('sid:1', 'sid:2')}`, packets: [{ flags: 'S' }, { reply: true, flags: 'SA' }], expect: [[1], [2]] },
  { what: 'flow direction picked up midstream: the higher port is the client', rules: R('flow:to_server; content:"x";'), packets: [{ data: 'x', sport: 50000, dport: 443 }, { data: 'x', sport: 443, dport: 50000, src: SERVER, dst: CLIENT }], expect: [[1], []] },
  // streams: a match across segment boundaries is found once, by the packet that completes it
  { what: 'content across two segments (stream, the default buffer)', oneConnection: true, rules: R('content:"UNION SELECT"; nocase;'), packets: [{ data: 'id=1 UNI' }, { data: 'ON SELECT 1' }, { data: ' and more' }], expect: [[], [1], []] },
  { what: 'pkt_data sees one packet only', oneConnection: true, rules: R('pkt_data; content:"UNION SELECT";'), packets: [{ data: 'id=1 UNI' }, { data: 'ON SELECT 1' }, { data: 'UNION SELECT' }], expect: [[], [], [1]] },
  { what: 'a second occurrence in new bytes is found again', oneConnection: true, rules: R('content:"abc";'), packets: [{ data: 'abc' }, { data: 'xx' }, { data: 'abc' }], expect: [[1], [], [1]] },
  { what: 'a legacy http_uri modifier across two segments of the request', oneConnection: true, rules: R('content:"UNION SELECT"; nocase; http_uri;', 'alert http any any -> any any'), packets: [{ data: 'GET /item?id=1%20UNI' }, { data: 'ON%20SELECT%20pw HTTP/1.1\r\nHost: shop.lan\r\n\r\n' }], expect: [[], [1]] },
  { what: 'http.uri across two segments of the request', oneConnection: true, rules: R('http.uri; content:"UNION SELECT"; nocase;', 'alert http any any -> any any'), packets: [{ data: 'GET /item?id=1%20UNI' }, { data: 'ON%20SELECT%20pw HTTP/1.1\r\nHost: shop.lan\r\n\r\n' }], expect: [[], [1]] },
  // HTTP per transaction: a rule on several fields matches once, when the last of them is complete, whatever the segmentation
  { what: 'http_uri + http_client_body, one segment', rules: UB, packets: [{ data: LOGIN }, { data: GET('/login', 'Host: a\r\n', 'user=a&pass=x') }, { data: GET('/home', 'Host: a\r\n', 'user=a&passwd=x') }], expect: [[1], [], []] },
  { what: 'http_uri + http_client_body, headers and body in separate segments', oneConnection: true, rules: UB, packets: [{ data: LOGIN.slice(0, LOGIN.indexOf('user=')) }, { data: 'user=a&passwd=x' }], expect: [[], [1]] },
  { what: 'http_uri + http_client_body, the body across many segments', oneConnection: true, rules: UB, packets: [{ data: LOGIN.slice(0, LOGIN.indexOf('user=')) }, { data: 'user=a&pa' }, { data: 'ssw' }, { data: 'd=x' }], expect: [[], [], [], [1]] },
  { what: 'http_uri + http_client_body, the header block split and the body starting with its end', oneConnection: true, rules: UB, packets: [{ data: 'POST /login HTTP/1.1\r\nContent-Len' }, { data: 'gth: 15\r\n\r\nuser=a' }, { data: '&passwd=x' }], expect: [[], [], [1]] },
  { what: 'http_uri + http_client_body, a chunked body', oneConnection: true, rules: UB, packets: [{ data: 'POST /login HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n' }, { data: '7\r\nuser=a&' }, { data: '\r\n8\r\npasswd=x\r\n' }, { data: '0\r\n\r\n' }], expect: [[], [], [], [1]] },
  { what: 'http_uri + http_client_body: the URI of one request and the body of the next on a keep-alive connection do not combine', oneConnection: true, rules: UB, packets: [{ data: GET('/login', 'Host: a\r\n', 'user=a') }, { data: GET('/home', 'Host: a\r\n', 'passwd=x') }], expect: [[], []] },
  { what: 'http_uri + http_client_body: pipelined requests in one segment are separate transactions', rules: UB, packets: [{ data: GET('/login', 'Host: a\r\n', 'user=a') + GET('/home', 'Host: a\r\n', 'passwd=x') }, { data: GET('/home', 'Host: a\r\n', 'user=a') + LOGIN }], expect: [[], [1]] },
  {
    what: 'a URI rule, a body rule and the rule on both each match once when the body comes later',
    oneConnection: true,
    rules: [UB, R('content:"login"; http_uri;').replace('sid:1', 'sid:2'), R('http.request_body; content:"passwd=";').replace('sid:1', 'sid:3')].join('\n'),
    packets: [{ data: LOGIN.slice(0, LOGIN.indexOf('user=')) }, { data: 'user=a&passwd=x' }],
    expect: [[2], [1, 3]],
  },
  { what: 'an http rule without content matches a request once, not again with its body', oneConnection: true, rules: R('flow:to_server;', 'alert http any any -> any any'), packets: [{ data: LOGIN.slice(0, LOGIN.indexOf('user=')) }, { data: 'user=a&passwd=x' }], expect: [[1], []] },
  { what: 'http_method + a stream content in the body segment', oneConnection: true, rules: R('content:"POST"; http_method; content:"passwd";'), packets: [{ data: LOGIN.slice(0, LOGIN.indexOf('user=')) }, { data: 'user=a&passwd=x' }], expect: [[], [1]] },
  { what: 'http_stat_code + http_server_body of a response in separate segments', oneConnection: true, rules: R('content:"500"; http_stat_code; content:"SQL syntax"; http_server_body;', 'alert http any any -> any any'), packets: [{ data: 'HTTP/1.1 500 Internal Server Error\r\nContent-Length: 25\r\n\r\n', reply: true }, { data: 'You have an error in SQL ', reply: true }, { data: 'HTTP/1.1 500 x\r\nContent-Length: 10\r\n\r\nSQL syntax', reply: true }], expect: [[], [], [1]] },
  // header
  { what: 'port lists, ranges and negation', rules: [R('content:"x";', 'alert tcp any any -> any [80,8080]'), R('content:"x";', 'alert tcp any 1024: -> any !80').replace('sid:1', 'sid:2'), R('content:"x";', 'alert tcp any any -> any [1:1023,!22]').replace('sid:1', 'sid:3')].join('\n'), packets: [{ data: 'x', dport: 8080 }, { data: 'x', dport: 22 }, { data: 'x', dport: 443 }], expect: [[1, 2], [2], [2, 3]] },
  { what: 'address negation and variables', rules: [R('content:"x";', 'alert tcp $HOME_NET any -> $EXTERNAL_NET $HTTP_PORTS'), R('content:"x";', 'alert tcp !10.0.0.0/8 any -> any any').replace('sid:1', 'sid:2'), R('content:"x";', 'alert tcp [10.0.0.0/8,!10.0.0.2] any -> any any').replace('sid:1', 'sid:3')].join('\n'), packets: [{ data: 'x' }, { data: 'x', src: '10.0.0.3', dport: 8080 }, { data: 'x', src: '198.51.100.1' }], expect: [[1], [1, 3], [2]] },
  { what: 'bidirectional <>', rules: R('content:"x";', 'alert tcp 10.0.0.2 any <> 192.0.2.80 80'), packets: [{ data: 'x' }, { data: 'x', reply: true }, { data: 'x', src: '10.0.0.9' }], expect: [[1], [1], []] },
  { what: 'protocols', rules: [R('content:"x";', 'alert udp any any -> any any'), R('content:"x";', 'alert ip any any -> any any').replace('sid:1', 'sid:2')].join('\n'), packets: [{ data: 'x', proto: 'udp', dport: 53 }, { data: 'x' }], expect: [[1, 2], [2]] },
  { what: 'itype and icode', rules: `${R('itype:8;', 'alert icmp any any -> any any')}\n${R('itype:3; icode:>1;', 'alert icmp any any -> any any').replace('sid:1', 'sid:2')}`, packets: [{ proto: 'icmp', icmpType: 8, icmpCode: 0 }, { proto: 'icmp', icmpType: 0, icmpCode: 0 }, { proto: 'icmp', icmpType: 3, icmpCode: 3 }, { proto: 'icmp', icmpType: 3, icmpCode: 1 }], expect: [[1], [], [2], []] },
  { what: 'dsize', rules: `${R('dsize:>10; content:"a";')}\n${R('dsize:3<>6; content:"a";').replace('sid:1', 'sid:2')}`, packets: [{ data: 'aaaaaaaaaaaa' }, { data: 'aaaa' }, { data: 'aaa' }], expect: [[1], [2], []] },
  { what: 'flags exact, + and mask', rules: [R('flags:S;'), R('flags:S+;').replace('sid:1', 'sid:2'), R('flags:S,CE;').replace('sid:1', 'sid:3')].join('\n'), packets: [{ flags: 'S' }, { flags: 'SA' }, { flags: 'SEC' }], expect: [[1, 2, 3], [2], [2, 3]] },
  // thresholds (Suricata "Rule Thresholding", Snort 3 detection_filter)
  { what: 'threshold type limit: the first 2 per source and window', rules: R('content:"x"; threshold:type limit, track by_src, count 2, seconds 60;'), packets: [{ data: 'x' }, { data: 'x' }, { data: 'x' }, { data: 'x', src: '10.0.0.9' }, { data: 'x', at: 61 }], expect: [[1], [1], [], [1], [1]] },
  { what: 'threshold type threshold: every 3rd', rules: R('content:"x"; threshold:type threshold, track by_src, count 3, seconds 60;'), packets: Array.from({ length: 6 }, () => ({ data: 'x' })), expect: [[], [], [1], [], [], [1]] },
  { what: 'threshold type both: once after 3', rules: R('content:"x"; threshold:type both, track by_src, count 3, seconds 60;'), packets: Array.from({ length: 5 }, () => ({ data: 'x' })), expect: [[], [], [1], [], []] },
  { what: 'detection_filter: every match after the first 2', rules: R('content:"x"; detection_filter:track by_src, count 2, seconds 60;'), packets: Array.from({ length: 4 }, () => ({ data: 'x' })), expect: [[], [], [1], [1]] },
  { what: 'by_dst counts every source against the target', rules: R('content:"x"; threshold:type both, track by_dst, count 2, seconds 60;'), packets: [{ data: 'x', src: '10.0.0.7' }, { data: 'x', src: '10.0.0.8' }, { data: 'x', src: '10.0.0.9', dst: '192.0.2.99' }], expect: [[], [1], []] },
  // flowbits across two packets of one connection
  {
    what: 'flowbits set/noalert then isset on the same connection only',
    oneConnection: true,
    rules: `alert tcp any any -> any any (msg:"login"; content:"USER admin"; flowbits:set,admin; flowbits:noalert; sid:10;)\nalert tcp any any -> any any (msg:"pass"; content:"PASS"; flowbits:isset,admin; sid:11;)`,
    packets: [{ data: 'USER admin' }, { data: 'PASS x' }, { data: 'PASS x', sport: 43999 }],
    expect: [[], [11], []],
  },
  {
    what: 'flowbits isnotset and unset',
    oneConnection: true,
    rules: `alert tcp any any -> any any (msg:"a"; content:"A"; flowbits:set,seen; sid:20;)\nalert tcp any any -> any any (msg:"b"; content:"B"; flowbits:isnotset,seen; sid:21;)\nalert tcp any any -> any any (msg:"c"; content:"C"; flowbits:unset,seen; sid:22;)`,
    packets: [{ data: 'B' }, { data: 'A' }, { data: 'B' }, { data: 'C' }, { data: 'B' }],
    expect: [[21], [20], [], [22], [21]],
  },
  { what: 'flowbits set in a packet is seen by a checker in the same packet', rules: `alert tcp any any -> any any (msg:"check"; content:"Z"; flowbits:isset,z; sid:31;)\nalert tcp any any -> any any (msg:"set"; content:"Z"; flowbits:set,z; sid:30;)`, packets: [{ data: 'Z' }], expect: [[30, 31]] },
  { what: 'Snort 3 service rule without addresses', rules: 'alert http (msg:"svc"; http_uri; content:"/cgi-bin/"; service:http; sid:1;)', packets: [{ data: GET('/cgi-bin/x') }, { data: 'x /cgi-bin/ y' }], expect: [[1], []] },
  // layout
  { what: 'multi-line rule with \\ continuation, comments and blank lines', rules: '# a comment\n\nalert tcp any any -> any any ( \\\n  msg:"split"; \\\n  content:"abc"; \\\n  sid:1; )\n# alert tcp any any -> any any (msg:"off"; content:"abc"; sid:2;)\n', packets: [{ data: 'abc' }], expect: [[1]] },
];

describe('rule-language conformance', () => {
  for (const row of ROWS) {
    it(row.what, () => {
      assert.deepEqual(run(row.rules, row.packets, row.oneConnection), row.expect);
    });
  }
});
