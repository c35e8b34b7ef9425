/**
 * Settings declared once: each node's settings are a schema in `lib/` (type,
 * default, range, unit, label, one line of help), and that one declaration
 * drives the engine's validation, runtime `msg.topic = 'config'` changes, the
 * editor's `defaults` and help table (generated into the built `.html` by
 * scripts/copy-assets.js), the shipped flows' values and the CLI's
 * `--config`. A change is applied atomically: every value of a partial
 * settings object is checked; if any is bad the whole change is refused with
 * the reasons (naming the fields) and the old settings stay.
 */
import { parseCidrList } from './cidr';

/** What every field declares besides its type: shown in the editor and the help. */
interface FieldDoc {
  /** Short editor label, e.g. 'Window'. */
  label: string;
  /** One line of help, for the editor help table and `ips --help`. */
  help: string;
  /** Unit shown after the value, e.g. 'ms', 's', 'packets'. */
  unit?: string;
}

export type FieldSpec = FieldDoc &
  (
    /** `required`: blank text is refused, not read as the default (a value that must match something outside, e.g. a firewall rule's queue number). */
    | { type: 'number' | 'int'; min?: number; max?: number; required?: boolean; default: number }
    | { type: 'bool'; default: boolean }
    /**
     * `pattern`: a regular expression source the whole text must match (blank is always allowed: it means unset);
     * `patternError`: what the refusal says after the value when it does not match (e.g. 'is not an absolute path');
     * `keepBlank`: blank text is a value ('none'), not "use the default".
     */
    | { type: 'string'; maxLength?: number; pattern?: string; patternError?: string; keepBlank?: boolean; default: string }
    | { type: 'enum'; values: readonly string[]; default: string }
    /** CIDR list (text separated by commas/whitespace, or an array) → canonical string[]. */
    | { type: 'cidrs'; default: readonly string[] }
    /** Port list (text '22, 23' or number[]) → number[] of 1..65535. */
    | { type: 'ports'; default: readonly number[] }
    /** JSON text (blank or parseable, kept as text) or an object/array value, for structured settings the engine checks further (rule lists). */
    | { type: 'json'; default: string }
  );

/** A settings type's schema: one field spec per setting, its default of the setting's type. */
export type Schema<S> = { readonly [K in keyof S]: FieldSpec & { default: S[K] } };

/** The defaults a schema declares, as a fresh settings object (lists copied). */
export function defaultsOf<S extends object>(schema: Schema<S>): S {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(schema) as [string, FieldSpec][]) {
    out[name] = Array.isArray(spec.default) ? [...(spec.default as unknown[])] : spec.default;
  }
  return out as S;
}

/** Refusal of a settings change; `reasons` holds one line per bad field. */
export class SettingsError extends Error {
  constructor(readonly reasons: string[]) {
    super(`invalid settings: ${reasons.join('; ')}`);
    this.name = 'SettingsError';
  }
}

type Checked = { ok: true; value: unknown } | { ok: false; reason: string };

function describe(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function checkField(name: string, spec: FieldSpec, raw: unknown): Checked {
  switch (spec.type) {
    case 'number':
    case 'int': {
      const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isFinite(n)) return { ok: false, reason: `${name} must be a number, got ${describe(raw)}` };
      if (spec.type === 'int' && !Number.isInteger(n)) return { ok: false, reason: `${name} must be a whole number, got ${describe(raw)}` };
      if (spec.min !== undefined && n < spec.min) return { ok: false, reason: `${name} must be >= ${spec.min}, got ${n}` };
      if (spec.max !== undefined && n > spec.max) return { ok: false, reason: `${name} must be <= ${spec.max}, got ${n}` };
      return { ok: true, value: n };
    }
    case 'bool':
      if (typeof raw === 'boolean') return { ok: true, value: raw };
      if (raw === 'true' || raw === 'false') return { ok: true, value: raw === 'true' };
      return { ok: false, reason: `${name} must be true or false, got ${describe(raw)}` };
    case 'string':
      if (typeof raw !== 'string') return { ok: false, reason: `${name} must be text, got ${describe(raw)}` };
      if (spec.maxLength !== undefined && raw.length > spec.maxLength) return { ok: false, reason: `${name} must be at most ${spec.maxLength} characters` };
      if (spec.pattern !== undefined && raw !== '' && !new RegExp(`^(?:${spec.pattern})$`).test(raw)) {
        return { ok: false, reason: `${name}: ${describe(raw)} ${spec.patternError ?? `is not allowed here (${spec.help})`}` };
      }
      return { ok: true, value: raw };
    case 'enum':
      if (typeof raw !== 'string' || !spec.values.includes(raw)) return { ok: false, reason: `${name} must be one of ${spec.values.join(', ')}, got ${describe(raw)}` };
      return { ok: true, value: raw };
    case 'cidrs': {
      if (typeof raw !== 'string' && !(Array.isArray(raw) && raw.every((x) => typeof x === 'string'))) {
        return { ok: false, reason: `${name} must be a list of CIDRs (text or array of strings), got ${describe(raw)}` };
      }
      try {
        return { ok: true, value: parseCidrList(raw as string | string[]).map((c) => c.text) };
      } catch (err) {
        return { ok: false, reason: `${name}: ${(err as Error).message}` };
      }
    }
    case 'json':
      if (typeof raw === 'string') {
        if (raw.trim() === '') return { ok: true, value: raw };
        try {
          JSON.parse(raw);
        } catch (err) {
          return { ok: false, reason: `${name} is not valid JSON: ${(err as Error).message}` };
        }
        return { ok: true, value: raw };
      }
      if (raw !== null && typeof raw === 'object') return { ok: true, value: raw };
      return { ok: false, reason: `${name} must be JSON text or an object, got ${describe(raw)}` };
    case 'ports': {
      const items: unknown[] = typeof raw === 'string' ? raw.split(/[\s,]+/).filter((s) => s !== '') : Array.isArray(raw) ? raw : [raw];
      if (typeof raw !== 'string' && !Array.isArray(raw)) return { ok: false, reason: `${name} must be a list of ports, got ${describe(raw)}` };
      const ports: number[] = [];
      for (const item of items) {
        const n = typeof item === 'string' && /^\d{1,5}$/.test(item) ? Number(item) : item;
        if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) return { ok: false, reason: `${name}: ${describe(item)} is not a port (1-65535)` };
        if (!ports.includes(n)) ports.push(n);
      }
      return { ok: true, value: ports };
    }
  }
}

/**
 * Apply a partial settings object to `current`: returns the new settings, or
 * throws SettingsError naming every bad or unknown field (and `current` is
 * untouched either way).
 */
export function applySettings<S extends object>(schema: Schema<S>, current: S, patch: unknown): S {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
    throw new SettingsError([`settings must be an object of field: value, got ${describe(patch)}`]);
  }
  const next = { ...current } as Record<string, unknown>;
  const reasons: string[] = [];
  for (const [name, raw] of Object.entries(patch as Record<string, unknown>)) {
    const spec = (schema as Record<string, FieldSpec | undefined>)[name];
    if (!Object.prototype.hasOwnProperty.call(schema, name) || spec === undefined) {
      reasons.push(`unknown setting '${name}' (known: ${Object.keys(schema).join(', ')})`);
      continue;
    }
    const r = checkField(name, spec, raw);
    if (r.ok) next[name] = r.value;
    else reasons.push(r.reason);
  }
  if (reasons.length) throw new SettingsError(reasons);
  return next as S;
}

/** Field types where blank text is a value (an empty list, no rules), not "use the default". */
const KEEPS_BLANK: ReadonlySet<FieldSpec['type']> = new Set(['cidrs', 'ports', 'json']);

/** Editor text that holds nothing: '' or white space. */
export const isBlankText = (v: unknown): boolean => typeof v === 'string' && v.trim() === '';

/** Blank editor text is checked as it is (a value, or refused for a required number) rather than read as the default. */
const keepsBlank = (spec: FieldSpec): boolean => KEEPS_BLANK.has(spec.type) || (spec.type === 'string' && spec.keepBlank === true) || ((spec.type === 'int' || spec.type === 'number') && spec.required === true);

/**
 * Settings from a node's editor config: only the schema's fields are read
 * (the config also holds id, name, wires...), and a field left empty keeps
 * its default (unless it is `required`). Throws SettingsError like applySettings.
 */
export function settingsFromConfig<S extends object>(schema: Schema<S>, config: Record<string, unknown>): S {
  const patch: Record<string, unknown> = {};
  for (const name of Object.keys(schema)) {
    const v = config[name];
    if (v === undefined || v === null || (isBlankText(v) && !keepsBlank((schema as Record<string, FieldSpec>)[name]))) continue;
    patch[name] = v;
  }
  return applySettings(schema, defaultsOf(schema), patch);
}

/** `spec` with another default (a node that shares a field but not its default). */
export function withDefault<F extends FieldSpec>(spec: F, value: F['default']): F {
  return { ...spec, default: value };
}

/** What a field accepts, in words: range, choices or form. */
export function acceptedText(spec: FieldSpec): string {
  switch (spec.type) {
    case 'number':
    case 'int': {
      const kind = spec.type === 'int' ? 'whole number' : 'number';
      if (spec.min !== undefined && spec.max !== undefined) return `${kind} ${spec.min}–${spec.max}`;
      if (spec.min !== undefined) return `${kind} ≥ ${spec.min}`;
      return kind;
    }
    case 'bool':
      return 'true / false';
    case 'enum':
      return spec.values.join(' / ');
    case 'cidrs':
      return 'addresses or CIDRs, comma-separated';
    case 'ports':
      return 'ports, comma-separated';
    case 'string':
      return 'text';
    case 'json':
      return 'JSON';
  }
}

/** The default as shown to a reader: lists comma-separated, '' and [] as 'none'. */
export function defaultText(spec: FieldSpec): string {
  const d = spec.default;
  const text = Array.isArray(d) ? d.join(', ') : String(d);
  return text === '' ? 'none' : text;
}
