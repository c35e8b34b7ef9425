/**
 * The editor side of the settings schemas: the `defaults` entries and the
 * help table of each node's `.html`, generated from the node's schema when
 * the package is built (scripts/copy-assets.js replaces the `// @settings`
 * line in the registerType call and the `<!-- @settings-table -->` line in
 * the help). The editor then shows, validates and documents exactly what the
 * engine accepts, and no default is written twice.
 */
import { acceptedText, defaultText, type FieldSpec, type Schema } from '../../lib/base/settings';
import type { BadConfigPolicy } from './node-types';

/** The value the editor stores for a setting: text for numbers and lists (what its inputs hold), booleans as they are. */
export function editorValue(spec: FieldSpec, value: unknown = spec.default): string | boolean {
  if (spec.type === 'bool') return value === true;
  if (Array.isArray(value)) return value.join(', ');
  return String(value);
}

/** JavaScript source of the editor validator for a field (resources/validators.js). */
function validatorSource(spec: FieldSpec): string | null {
  switch (spec.type) {
    case 'number':
    case 'int': {
      const opts: string[] = [];
      if (spec.type === 'int') opts.push('integer: true');
      if (spec.min !== undefined) opts.push(`min: ${spec.min}`);
      if (spec.max !== undefined) opts.push(`max: ${spec.max}`);
      if (!spec.required) opts.push('blank: true');
      return `ipsValidators.number({ ${opts.join(', ')} })`;
    }
    case 'bool':
      return null;
    case 'enum':
      return `ipsValidators.oneOf(${JSON.stringify(spec.values)})`;
    case 'cidrs':
      return 'ipsValidators.cidrs()';
    case 'ports':
      return 'ipsValidators.ports()';
    case 'json':
      return 'ipsValidators.json()';
    case 'string': {
      const opts: string[] = [];
      if (spec.pattern !== undefined) opts.push(`pattern: ${JSON.stringify(spec.pattern)}`);
      if (spec.maxLength !== undefined) opts.push(`maxLength: ${spec.maxLength}`);
      return `ipsValidators.text({ ${opts.join(', ')} })`;
    }
  }
}

/**
 * The `defaults` entries of a node's registerType call: the config `version`,
 * one line per setting, and the renamed settings of older releases
 * (migrations.ts `legacySettings`), kept blank and hidden so the node can
 * rename them.
 */
export function editorDefaults(schema: Schema<object>, version: number, legacy: readonly string[] = [], indent = '      '): string {
  const lines = [`${indent}version: { value: ${version} },`];
  for (const name of legacy) lines.push(`${indent}${name}: { value: '' }, // an older release's name, renamed by the node when it starts`);
  for (const [name, spec] of Object.entries(schema) as [string, FieldSpec][]) {
    const validate = validatorSource(spec);
    lines.push(`${indent}${name}: { value: ${JSON.stringify(editorValue(spec))}${validate ? `, validate: ${validate}` : ''} },`);
  }
  return lines.join('\n');
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The help's settings table: key (for `msg.topic = 'config'`), label, default, unit, accepted values, help line. */
export function settingsTable(schema: Schema<object>): string {
  const rows = (Object.entries(schema) as [string, FieldSpec][]).map(([name, spec]) =>
    `    <tr><td><code>${name}</code></td><td>${escapeHtml(spec.label)}</td><td><code>${escapeHtml(defaultText(spec))}</code>${spec.unit ? ` ${escapeHtml(spec.unit)}` : ''}</td><td>${escapeHtml(acceptedText(spec))}</td><td>${escapeHtml(spec.help)}</td></tr>`);
  return [
    '<table class="ips-settings">',
    '    <tr><th>key</th><th>field</th><th>default</th><th>accepts</th><th>meaning</th></tr>',
    ...rows,
    '  </table>',
  ].join('\n');
}

/** The help's paragraph on bad settings, from the node type's policy (node-types.ts): stated once, the same in every node. */
export function badConfigParagraph(policy: BadConfigPolicy): string {
  const what = policy === 'pass-through'
    ? 'passes every message on unchecked (fail-open), so a typo cannot cut the network'
    : 'refuses every message with the reason and does nothing';
  return `<p class="ips-bad-config"><b>Bad settings</b> from the editor show a red status with the reason, and until they are fixed the node ${what}. A <code>config</code> message with a bad value is refused whole, with the reason, and the old settings stay.</p>`;
}
