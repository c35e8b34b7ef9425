/**
 * The shipped rule set: common web attacks in requests (client → server).
 * Patterns are written to stay linear on hostile input (no nested ambiguous
 * repetition) and to need some structure around short tokens, so encrypted
 * or binary payloads and ordinary HTTP do not trip them. Each rule lists
 * anchors: literals that every match of its pattern contains, for the
 * one-pass prefilter.
 */
import type { RuleSpec } from './rules';

/** SQL separators: whitespace, comments (plain, MySQL versioned, # and --), an opening parenthesis. */
const SQL_SEP = String.raw`(?:\s|/\*(?!!)[^*]{0,64}\*/|/\*!\d*|\*/|#[^\n]{0,64}\n|--[^\n]{0,64}\n|\()`;
/** Shell commands worth spotting after a command separator or in a substitution. */
const SHELL_WORDS = ['cat', 'id', 'uname', 'whoami', 'wget', 'curl', 'nc', 'ncat', 'bash', 'sh', 'ls', 'rm', 'chmod', 'echo', 'ping', 'sleep', 'nslookup', 'ifconfig', 'python3?', 'perl'];
const SHELL_CMDS = `(?:${SHELL_WORDS.join('|')})`;
/** Characters JavaScript's \s matches within latin1. */
const LATIN1_SPACES = [' ', '\t', '\n', '\r', '\v', '\f', '\xa0'];
/**
 * Chained commands: a separator, then the command word directly or after one
 * space, or a separator followed by any other run of spaces. Short words
 * alone ('nc', 'id', 'sh') occur in nearly every HTTP request (Accept-Encoding,
 * Host) and would send each one through the regex.
 */
const CHAINED_ANCHORS = [';', '&', '|'].flatMap((sep) => [
  ...SHELL_WORDS.map((w) => w.replace('3?', '')).filter((w, _, all) => !all.some((o) => o !== w && w.startsWith(o))).flatMap((w) => [sep + w, `${sep} ${w}`]),
  ...LATIN1_SPACES.filter((c) => c !== ' ').map((c) => sep + c),
  ...LATIN1_SPACES.map((c) => `${sep} ${c}`),
]);
/** Substitution: "$(" or a backtick followed by a space or a command's first letter. */
const SUBST_ANCHORS = ['$(', ...[...LATIN1_SPACES, ...new Set(SHELL_WORDS.map((w) => w[0]))].map((c) => `\x60${c}`)];
/** Tautology: or/and (xor ends in "or") followed by what may follow them in the pattern, or || and &&. */
const TAUTOLOGY_ANCHORS = ['||', '&&', ...['or', 'and'].flatMap((w) => [...LATIN1_SPACES, '(', "'", '"', ...'0123456789'].map((c) => w + c))];
/** Event handler attribute names (prefixes: "mouse" covers onmouseover, onmousedown…). */
const EVENTS = ['error', 'load', 'unload', 'beforeunload', 'mouse', 'pointer', 'key', 'touch', 'drag', 'drop', 'focus', 'blur', 'click', 'dblclick', 'auxclick',
  'contextmenu', 'submit', 'change', 'input', 'beforeinput', 'invalid', 'reset', 'select', 'search', 'toggle', 'beforetoggle', 'show', 'pageshow', 'pagehide',
  'hashchange', 'popstate', 'message', 'storage', 'resize', 'scroll', 'wheel', 'copy', 'cut', 'paste', 'animation', 'transition', 'begin', 'end', 'finish',
  'start', 'bounce', 'play', 'pause', 'canplay', 'seek', 'timeupdate', 'volumechange', 'progress', 'abort', 'stalled', 'suspend', 'waiting', 'emptied',
  'durationchange', 'ratechange', 'readystatechange', 'afterprint', 'beforeprint', 'securitypolicyviolation', 'formdata', 'cuechange', 'content', 'fullscreen'];
const EVENT_ATTR = String.raw`on(?:${EVENTS.join('|')})[a-z]*\s*=`;
/** One letter of a Log4j lookup: the letter itself or a nested lookup such as ${lower:j} or ${::-j}. */
const jndiPart = (letter: string): string => String.raw`(?:${letter}|\$\{[^}]{0,40}\})`;

const web = { category: 'payload', regex: true, nocase: true, proto: 'tcp', direction: 'to-server' } as const;
/**
 * Where each attack is looked for in a request: parameters travel in the
 * URI and the body, so injection rules read those (not every header, where
 * cookies, tokens and user agents trip them); Log4Shell lookups are aimed
 * at whatever gets logged, headers first, so that rule reads the raw stream.
 */
const params = { field: ['uri', 'body'] } as const;

export const DEFAULT_RULES: readonly RuleSpec[] = [
  {
    ...web, ...params, id: 'payload.sqli.union', sid: 3000001, severity: 'high', action: 'drop',
    name: 'SQL injection: UNION SELECT',
    pattern: String.raw`(?<![a-z_])union${SQL_SEP}+(?:(?:all|distinct)${SQL_SEP}+)?select\b`,
    anchors: ['union'],
  },
  {
    ...web, ...params, id: 'payload.sqli.tautology', sid: 3000002, severity: 'high', action: 'drop',
    name: "SQL injection: tautology (' or 1=1, or 'a'='a)",
    pattern: String.raw`(?:\b(?:or|and|xor)\b|\|\||&&)\s*\(?\s*(?:(\d+)\s*(?:=|like)\s*\(?\s*\1\b|'([^']{0,32})'\s*(?:=|like)\s*'\2(?:'|\b|$)|"([^"]{0,32})"\s*(?:=|like)\s*"\3(?:"|\b|$))`,
    anchors: TAUTOLOGY_ANCHORS,
  },
  {
    ...web, ...params, id: 'payload.sqli.drop_table', sid: 3000003, severity: 'high', action: 'drop',
    name: 'SQL injection: DROP TABLE',
    pattern: String.raw`\bdrop${SQL_SEP}+(?:table|database)\b`,
    anchors: ['drop'],
  },
  {
    ...web, ...params, id: 'payload.sqli.sleep', sid: 3000004, severity: 'high', action: 'drop',
    name: 'SQL injection: time delay (SLEEP, PG_SLEEP, WAITFOR DELAY)',
    pattern: String.raw`\b(?:pg_)?sleep\s*\(\s*\d|\bwaitfor\s+delay\s+'`,
    anchors: ['sleep', 'waitfor'],
  },
  {
    ...web, ...params, id: 'payload.sqli.benchmark', sid: 3000005, severity: 'high', action: 'drop',
    name: 'SQL injection: BENCHMARK() delay',
    pattern: String.raw`\bbenchmark\s*\(\s*\d`,
    anchors: ['benchmark'],
  },
  {
    ...web, ...params, id: 'payload.sqli.information_schema', sid: 3000006, severity: 'high', action: 'drop',
    name: 'SQL injection: information_schema probe',
    pattern: String.raw`\binformation_schema\b`,
    anchors: ['information_schema'],
  },
  {
    ...web, ...params, id: 'payload.sqli.stacked', sid: 3000007, severity: 'high', action: 'drop',
    name: 'SQL injection: stacked query',
    pattern: String.raw`;\s*(?:select\s+(?:\d|null\b|@@|\*|\w+\s*\(|(?:(?:distinct|all)\s+)?[\w.]{1,64}(?:\s*,\s*[\w.*]{1,64}){0,20}\s+from\b)|insert\s+into\b|update\s+\w+\s+set\b|delete\s+from\b|drop${SQL_SEP}+(?:table|database)\b|exec(?:ute)?\s+\w|shutdown\b)`,
    anchors: ['select', 'insert', 'update', 'delete', 'drop', 'exec', 'shutdown'],
  },
  {
    ...web, ...params, id: 'payload.xss.script', sid: 3000101, severity: 'medium', action: 'alert',
    name: 'XSS: <script> tag',
    pattern: String.raw`<\s*script\b`,
    anchors: ['script'],
  },
  {
    ...web, ...params, id: 'payload.xss.event_handler', sid: 3000102, severity: 'medium', action: 'alert',
    name: 'XSS: event handler attribute (onerror=, onload=)',
    pattern: String.raw`<[a-z][^>]{0,200}?[\s/"']${EVENT_ATTR}|['"]\s*${EVENT_ATTR}`,
    anchors: EVENTS.map((e) => `on${e}`),
  },
  {
    ...web, ...params, id: 'payload.xss.javascript_uri', sid: 3000103, severity: 'medium', action: 'alert',
    name: 'XSS: javascript: URI',
    pattern: String.raw`\b(?:java|vb)script\s*:`,
    anchors: ['javascript', 'vbscript'],
  },
  {
    ...web, field: ['uri_raw', 'body'], id: 'payload.traversal.dotdot', sid: 3000201, severity: 'medium', action: 'alert',
    name: 'Path traversal: ../ or ..\\ sequence',
    pattern: String.raw`(?:^|[/\\=\s'"])\.\.(?:/|\\|\xc0\xaf|\xc1\x9c)`,
    anchors: ['../', '..\\', '..\xc0\xaf', '..\xc1\x9c'],
  },
  {
    ...web, ...params, id: 'payload.traversal.sensitive_file', sid: 3000202, severity: 'high', action: 'drop',
    name: 'Path traversal: system file (/etc/passwd, win.ini)',
    pattern: String.raw`/etc/(?:passwd|shadow)\b|\bwin(?:dows)?[/\\]win\.ini\b|\bboot\.ini\b|/proc/self/(?:environ|cmdline)\b`,
    anchors: ['/etc/passwd', '/etc/shadow', 'win.ini', 'boot.ini', '/proc/self/'],
  },
  {
    ...web, ...params, id: 'payload.cmdi.chained', sid: 3000301, severity: 'high', action: 'drop',
    name: 'Command injection: chained shell command (; cat, | id)',
    pattern: String.raw`[;&|]\s*${SHELL_CMDS}(?:\s|$|[;&|<>])`,
    anchors: CHAINED_ANCHORS,
  },
  {
    ...web, ...params, id: 'payload.cmdi.substitution', sid: 3000302, severity: 'high', action: 'drop',
    name: 'Command injection: command substitution ($( ) or backticks)',
    pattern: String.raw`(?:\$\(|\x60)\s*${SHELL_CMDS}\b`,
    anchors: SUBST_ANCHORS,
  },
  {
    ...web, proto: 'any', id: 'payload.log4j.jndi', sid: 3000401, severity: 'high', action: 'drop',
    name: 'Log4Shell: ${jndi:} lookup',
    pattern: String.raw`\$\{\s*${jndiPart('j')}\s*${jndiPart('n')}\s*${jndiPart('d')}\s*${jndiPart('i')}\s*(?::|\$\{[^}]{0,40}\})`,
    anchors: ['${'],
  },
];
