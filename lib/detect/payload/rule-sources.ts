/**
 * Where payload-match's rules come from and how they are loaded: the one
 * loader the node, the chain and the command line share. Rules come in two
 * languages: JSON rules (rules.ts, all or nothing: a bad rule refuses the
 * whole change) and the Snort/Suricata rule language (signature/, rule by
 * rule: a rule the engine cannot run is skipped with its sid and reason and
 * counted in the load report, "loaded N of M rules").
 */
import path from 'node:path';
import { applySettings, defaultsOf, settingsFromConfig, SettingsError, type Schema } from '../../base/settings';
import { DEFAULT_RULES } from './default-rules';
import { compileRules, mergeRules, parseRulesJson, readRulesText, RuleError, type PayloadRule } from './rules';
import { HeaderError, parseAddress } from './signature/header';
import { looksLikeRuleLanguage, parseSignatures, type Signature, type SkippedRule } from './signature/parse';
import { ruleVars, type VarSettings } from './signature/vars';

/** Rule-language settings: the text area and the variables. */
export interface RuleLanguageSettings extends VarSettings {
  /** Rules in the Snort/Suricata rule language (editor text area). */
  signatures: string;
  homeNet: string[];
  externalNet: string;
  httpPorts: number[];
}

/** Where the rules come from. */
export interface RuleSources extends RuleLanguageSettings {
  /** Include the shipped rule set (default true). */
  includeDefaults: boolean;
  /** Rules as JSON text (editor field), an array of rule objects, or { rules: [...] }. */
  rules: unknown;
  /** Path of a rules file, JSON or rule language ('' for none). */
  rulesFile: string;
}

export const ruleLanguageSchema: Schema<RuleLanguageSettings> = {
  signatures: { type: 'string', default: '', label: 'Rules (Snort/Suricata)', help: 'rules in the Snort 3 / Suricata rule language, one per line (see Details for the supported options)' },
  homeNet: { type: 'cidrs', default: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7', 'fe80::/10'], label: '$HOME_NET', help: 'the networks rules call $HOME_NET (0.0.0.0/0, ::/0 for every address)' },
  externalNet: { type: 'string', default: '!$HOME_NET', maxLength: 2000, label: '$EXTERNAL_NET', help: 'the addresses rules call $EXTERNAL_NET, in rule-language syntax (any, !$HOME_NET, [CIDR, ...])' },
  httpPorts: { type: 'ports', default: [80, 8000, 8008, 8080, 8888], label: '$HTTP_PORTS', help: 'the ports rules call $HTTP_PORTS' },
};

export const ruleSourceSchema: Schema<RuleSources> = {
  includeDefaults: { type: 'bool', default: true, label: 'Shipped rules', help: 'include the shipped rule set (SQL injection, XSS, traversal, command injection, Log4Shell)' },
  rules: { type: 'json', default: '', label: 'Rules', help: 'your rules as JSON: an array of rule objects (a rule with a shipped id replaces it)' },
  rulesFile: { type: 'string', default: '', label: 'Rules file', help: 'path of a rules file, JSON or Snort/Suricata rule language (by extension .json/.rules, else by content), relative to the Node-RED user directory' },
  ...ruleLanguageSchema,
};

export const RULE_FIELDS: readonly string[] = Object.keys(ruleSourceSchema);
const LANGUAGE_FIELDS = Object.keys(ruleLanguageSchema);

export const defaultSources: RuleSources = defaultsOf(ruleSourceSchema);

/**
 * Rule sources from a config object over `base`: `editor` reads a saved
 * editor config (blank text means the default), otherwise a runtime patch.
 * Throws SettingsError naming the bad fields.
 */
export function sourcesFrom(base: RuleSources, cfg: Record<string, unknown>, editor = false): RuleSources {
  const next = { ...base };
  const v = cfg.includeDefaults;
  if (v !== undefined) {
    if (typeof v === 'boolean') next.includeDefaults = v;
    else if (v === 'true' || v === 'false') next.includeDefaults = v === 'true';
    else throw new SettingsError([`includeDefaults must be true or false, got ${JSON.stringify(v)}`]);
  }
  if (cfg.rules !== undefined) {
    if (typeof cfg.rules !== 'string' && (cfg.rules === null || typeof cfg.rules !== 'object')) {
      throw new SettingsError(['rules must be JSON text, an array of rule objects or { "rules": [...] }']);
    }
    next.rules = cfg.rules;
  }
  if (cfg.rulesFile !== undefined) {
    if (typeof cfg.rulesFile !== 'string') throw new SettingsError([`rulesFile must be a file path, got ${JSON.stringify(cfg.rulesFile)}`]);
    next.rulesFile = cfg.rulesFile;
  }
  const lang: Record<string, unknown> = {};
  for (const k of LANGUAGE_FIELDS) if (cfg[k] !== undefined) lang[k] = cfg[k];
  const current: RuleLanguageSettings = { signatures: base.signatures, homeNet: base.homeNet, externalNet: base.externalNet, httpPorts: base.httpPorts };
  return { ...next, ...(editor ? settingsFromConfig(ruleLanguageSchema, lang) : applySettings(ruleLanguageSchema, current, lang)) };
}

/** A rule-language rule that was not loaded, with where it came from. */
export interface SkippedFrom extends SkippedRule {
  origin: string;
}

/** What a load gave: rules loaded of rules found, and the skipped ones with their reasons. */
export interface LoadReport {
  loaded: number;
  total: number;
  skipped: SkippedFrom[];
}

export interface RuleSet {
  json: PayloadRule[];
  signatures: Signature[];
  report: LoadReport;
}

let compiledDefaults: PayloadRule[] | null = null;

/** The shipped rules, validated once (trusted: their regexes run in V8, see user-regex.ts). */
export function defaultRules(): PayloadRule[] {
  compiledDefaults ??= compileRules(DEFAULT_RULES, 'default rules', true);
  return compiledDefaults;
}

/** A rules file's format: by extension, else by its first meaningful character. */
function isRuleLanguageFile(file: string, text: string): boolean {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.rules') return true;
  if (ext === '.json') return false;
  return looksLikeRuleLanguage(text);
}

/**
 * Load every source: defaults, then the file, then the editor's JSON rules
 * (a later JSON rule with the same id replaces an earlier one), and the
 * rule-language rules of the file and the text area (a gid:sid loaded twice
 * keeps the first). A relative file path is taken from `baseDir`. Throws
 * RuleError for a bad JSON rule, an unreadable file or bad variables.
 */
export function loadRuleSet(src: RuleSources, baseDir = process.cwd()): RuleSet {
  const vars = ruleVars(src);
  try {
    parseAddress(vars.addresses.EXTERNAL_NET, vars);
  } catch (err) {
    if (err instanceof HeaderError) throw new RuleError(`externalNet: ${err.message}`);
    throw err;
  }
  const lists: PayloadRule[][] = [];
  const texts: { origin: string; text: string }[] = [];
  if (src.includeDefaults) lists.push(defaultRules());
  const file = src.rulesFile.trim();
  if (file !== '') {
    const full = path.resolve(baseDir, file);
    const text = readRulesText(full);
    if (isRuleLanguageFile(full, text)) texts.push({ origin: `rules file ${full}`, text });
    else lists.push(parseRulesJson(text, `rules file ${full}`));
  }
  if (typeof src.rules === 'string') lists.push(parseRulesJson(src.rules, 'editor rules'));
  else lists.push(compileRules(src.rules, 'rules'));
  if (src.signatures.trim() !== '') texts.push({ origin: 'editor signatures', text: src.signatures });
  const json = mergeRules(...lists);
  const signatures: Signature[] = [];
  const skipped: SkippedFrom[] = [];
  const seen = new Set<string>();
  let total = json.length;
  for (const { origin, text } of texts) {
    const parsed = parseSignatures(text, vars);
    total += parsed.total;
    for (const s of parsed.skipped) skipped.push({ ...s, origin });
    for (const sig of parsed.signatures) {
      const key = `${sig.gid}:${sig.sid}`;
      if (seen.has(key)) skipped.push({ sid: sig.sid, line: sig.line, reason: 'duplicate gid:sid', origin });
      else {
        seen.add(key);
        signatures.push(sig);
      }
    }
  }
  return { json, signatures, report: { loaded: json.length + signatures.length, total, skipped } };
}

/** "loaded N of M rules", then the reasons by count with a few sids each: what the status, the log and the CLI say. */
export function reportText(r: LoadReport, sidsShown = 5): string {
  const text = `loaded ${r.loaded} of ${r.total} rules`;
  if (r.skipped.length === 0) return text;
  const by = new Map<string, SkippedFrom[]>();
  for (const s of r.skipped) {
    let list = by.get(s.reason);
    if (!list) by.set(s.reason, (list = []));
    list.push(s);
  }
  const parts = [...by].sort((a, b) => b[1].length - a[1].length).map(([reason, list]) => {
    const ids = list.slice(0, sidsShown).map((s) => (s.sid !== null ? `sid ${s.sid}` : `line ${s.line}`));
    return `${list.length} × ${reason} (${ids.join(', ')}${list.length > sidsShown ? ', …' : ''})`;
  });
  return `${text}; skipped ${r.skipped.length}: ${parts.join('; ')}`;
}
