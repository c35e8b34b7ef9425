/**
 * Every regular expression a user writes (JSON rules' `pattern` with
 * `regex: true`, rule-language `pcre`) runs in RE2 (npm `re2`): an automaton
 * engine whose time is linear in the input, so a pattern such as `(a+)+$`
 * on a 100 KB payload takes well under a millisecond instead of hanging the
 * flow for years as a backtracking engine would. RE2 cannot do what needs
 * backtracking: backreferences and lookaround are refused here, at load,
 * with the reason, before RE2's own terser message. The shipped rules are
 * written for V8 (lookbehind, backreferences) and reviewed to stay linear:
 * they keep V8's engine (see rules.ts `trusted`).
 *
 * Payloads are matched as latin1 text (one character per byte), which RE2
 * reads as Unicode code points U+0000–U+00FF: `\xNN` matches byte NN.
 */
import type RE2Module from 're2';

/** Loaded on first use: the node table (every node's schema) must not pull in a native binding. */
let re2: typeof RE2Module | null = null;

function loadRe2(): typeof RE2Module {
  if (re2 === null) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      re2 = require('re2') as typeof RE2Module;
    } catch (err) {
      throw new UserRegexError(`the linear-time regex engine (npm re2, a native module) cannot be loaded: ${(err as Error).message.split('\n')[0]}; reinstall the package so re2 builds`);
    }
  }
  return re2;
}

export class UserRegexError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserRegexError';
  }
}

/** What RE2 cannot run, found before compiling (outside character classes, escapes honoured). */
function unsupportedConstruct(source: string): string | null {
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      const next = source[i + 1] ?? '';
      if (!inClass && /[1-9]/.test(next)) return `backreferences (\\${next}) are not supported: user regexes run in RE2, a linear-time engine, which cannot match them`;
      if (!inClass && next === 'k' && source[i + 2] === '<') return 'named backreferences (\\k<name>) are not supported: user regexes run in RE2, a linear-time engine, which cannot match them';
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      if (source[i + 1] === ']') i++;
      continue;
    }
    if (c === '(' && source[i + 1] === '?') {
      const kind = source.slice(i + 2, i + 4);
      if (kind.startsWith('=') || kind.startsWith('!')) return `lookahead (?${kind[0]} is not supported: user regexes run in RE2, a linear-time engine, which cannot match it`;
      if (kind === '<=' || kind === '<!') return `lookbehind (?${kind} is not supported: user regexes run in RE2, a linear-time engine, which cannot match it`;
      if (kind.startsWith('>')) return 'atomic groups (?> are not supported by RE2 (not needed: it never backtracks)';
    }
    if ((c === '+' || c === '*' || c === '?' || c === '}') && source[i + 1] === '+') {
      return 'possessive quantifiers (*+, ++, ?+) are not supported by RE2 (not needed: it never backtracks)';
    }
  }
  return null;
}

/**
 * Compile a user regex in RE2. `flags` are JavaScript's ('i', 'm', 's', 'g',
 * 'y'). Throws UserRegexError with the reason.
 */
export function compileUserRegex(source: string, flags = ''): RegExp {
  const why = unsupportedConstruct(source);
  if (why !== null) throw new UserRegexError(why);
  const RE2 = loadRe2();
  try {
    return new RE2(source, flags);
  } catch (err) {
    throw new UserRegexError(`RE2 cannot read it: ${(err as Error).message}`);
  }
}
