/**
 * A setting is declared once, in its node's schema in lib/; everything a
 * user sees of it must agree with that declaration: the editor's defaults
 * and validators (generated into the built .html), the edit template's
 * placeholders, the help's settings table, the values of the shipped flows
 * and examples, and any settings table in the docs. Run after `npm run build`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { applySettings, defaultText, defaultsOf, settingsFromConfig, type FieldSpec } from '../lib/base/settings';
import { NODE_SCHEMAS, NODE_TYPES, type NodeTypeName } from '../nodes/common/node-types';
import { badConfigParagraph, editorValue } from '../nodes/common/editor';
import { currentVersion, legacySettings } from '../nodes/common/migrations';
import { builtHtml, editorDefinitions, type Validator } from './support/editor';
import { packageRoot } from './support/red-runtime';
import { flowFiles } from './support/flow-files';

/** Editor properties that are not settings: the node's name and its config version. */
const EDITOR_ONLY = new Set(['name', 'version']);

const isEnvRef = (v: unknown): boolean => typeof v === 'string' && /^\$\{[^}]+\}$/.test(v);

function fieldsOf(type: string): [string, FieldSpec][] {
  return Object.entries(NODE_SCHEMAS[type]) as [string, FieldSpec][];
}

/** Every node of the shipped flows and the examples, with the file it is in. */
function flowNodes(): { file: string; node: Record<string, unknown> }[] {
  return flowFiles().flatMap(([file, flow]) => flow.map((node) => ({ file, node })));
}

describe('settings: one declaration per setting', () => {
  const defs = editorDefinitions();

  it('every node type of the package has a schema', () => {
    const missing = [...defs.keys()].filter((type) => !(type in NODE_SCHEMAS));
    assert.deepEqual(missing, [], `node types without a settings schema in nodes/common/node-types.ts: ${missing.join(', ')}`);
  });

  for (const type of Object.keys(NODE_SCHEMAS)) {
    describe(type, () => {
      it('its defaults are valid settings', () => {
        const defaults = defaultsOf(NODE_SCHEMAS[type]);
        assert.deepEqual(applySettings(NODE_SCHEMAS[type], defaults, defaults), defaults);
      });

      it('the editor defaults are the schema defaults, every setting has its validator, nothing else is a setting', () => {
        const def = defs.get(type);
        assert.ok(def, `${type} is registered in its .html`);
        for (const [name, spec] of fieldsOf(type)) {
          assert.ok(name in def.defaults, `editor defaults have ${name}`);
          assert.deepEqual(def.defaults[name].value, editorValue(spec), `${name}: editor default equals the schema's`);
          if (spec.type !== 'bool') {
            const validate: Validator | undefined = def.defaults[name].validate;
            assert.ok(validate, `${name} has a validator`);
            assert.equal(validate.call({}, editorValue(spec)), true, `${name}: the default passes the editor's validator`);
          }
        }
        const extra = Object.keys(def.defaults).filter((k) => !EDITOR_ONLY.has(k) && !legacySettings(type).includes(k) && !(k in NODE_SCHEMAS[type]));
        assert.deepEqual(extra, [], `editor properties not declared in the schema: ${extra.join(', ')}`);
        assert.equal(def.defaults.version?.value, currentVersion(type), 'the editor saves the current config version');
      });

      it('the edit template\'s placeholders show the schema defaults', () => {
        const html = builtHtml(type);
        for (const [name, spec] of fieldsOf(type)) {
          const m = new RegExp(`id="node-input-${name}"[^>]*placeholder="([^"]*)"`).exec(html) ?? new RegExp(`placeholder="([^"]*)"[^>]*id="node-input-${name}"`).exec(html);
          // numbers only: a list or text field's placeholder is an example of the form, not the default
          if (!m || (spec.type !== 'int' && spec.type !== 'number')) continue;
          assert.equal(m[1], String(editorValue(spec)), `${name}: placeholder equals the default`);
        }
      });

      it('the help has the generated settings table with every setting and its default, and says what bad settings do', () => {
        const html = builtHtml(type);
        const help = new RegExp(`data-help-name="${type}"[^>]*>([\\s\\S]*?)</script>`).exec(html)?.[1] ?? '';
        assert.doesNotMatch(help, /@settings-table/, 'the marker was replaced at build time');
        assert.ok(help.includes(badConfigParagraph(NODE_TYPES[type as NodeTypeName].onBadConfig)), 'the bad-settings paragraph of its policy');
        const other = NODE_TYPES[type as NodeTypeName].onBadConfig === 'refuse' ? /passes? (every message|packets|messages) (on |through )?unchecked/ : /refuses every message/;
        assert.doesNotMatch(help.replace(/<p class="ips-bad-config">.*?<\/p>/, ''), other, 'no hand-written sentence says the other policy');
        for (const [name, spec] of fieldsOf(type)) {
          const row = new RegExp(`<tr><td><code>${name}</code></td>.*</tr>`).exec(help)?.[0];
          assert.ok(row, `help table has a row for ${name}`);
          assert.ok(row.includes(`<code>${defaultText(spec).replace(/&/g, '&amp;').replace(/</g, '&lt;')}</code>`), `${name}: help shows default ${defaultText(spec)}`);
        }
      });

      it('every value the shipped flows and examples give it is accepted by the engine', () => {
        const schema = NODE_SCHEMAS[type];
        let checked = 0;
        for (const { file, node } of flowNodes()) {
          if (node.type !== type) continue;
          for (const [name] of fieldsOf(type)) {
            const value = node[name];
            if (value === undefined || isEnvRef(value)) continue;
            // as the node reads its saved config (blank text = the default)
            assert.doesNotThrow(() => settingsFromConfig(schema, { [name]: value }), `${file} ${String(node.id)} ${name} = ${JSON.stringify(value)}`);
            checked++;
          }
        }
        assert.ok(checked > 0, `some flow or example sets ${type}`);
      });
    });
  }

  it('settings tables in the README and docs/ give the schema defaults', () => {
    const files = ['README.md', ...(fs.existsSync(path.join(packageRoot, 'docs')) ? fs.readdirSync(path.join(packageRoot, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`) : [])];
    const byName = new Map<string, FieldSpec[]>();
    for (const type of Object.keys(NODE_SCHEMAS)) for (const [name, spec] of fieldsOf(type)) byName.set(name, [...(byName.get(name) ?? []), spec]);
    const wrong: string[] = [];
    for (const file of files) {
      const lines = fs.readFileSync(path.join(packageRoot, file), 'utf8').split('\n');
      let defaultCol = -1;
      for (const line of lines) {
        if (!line.startsWith('|')) {
          defaultCol = -1;
          continue;
        }
        const cells = line.split('|').slice(1, -1).map((c) => c.trim());
        const headerCol = cells.findIndex((c) => /^default$/i.test(c));
        if (headerCol >= 0) {
          defaultCol = headerCol;
          continue;
        }
        if (defaultCol < 0) continue;
        const key = /^`([A-Za-z]+)`/.exec(cells[0] ?? '')?.[1];
        const specs = key ? byName.get(key) : undefined;
        if (!specs) continue;
        const shown = (cells[defaultCol] ?? '').replace(/`/g, '').replace(/[ ,_](?=\d{3}\b)/g, '').trim();
        if (!specs.some((s) => shown === defaultText(s) || shown.startsWith(`${defaultText(s)} `))) wrong.push(`${file}: ${key} default ${shown}, schema says ${specs.map(defaultText).join(' or ')}`);
      }
    }
    assert.deepEqual(wrong, []);
  });
});
