/**
 * Suricata's published EVE schema (reference data kept beside the
 * repository, never copied into it) compiled by ajv, so a test can say
 * "every record validates". The schema is draft-07 style JSON Schema; ajv 6
 * (in node_modules as a dependency of Node-RED's tools, not ours) reads it.
 * In a git worktree the reference data sits beside the main checkout, so the
 * main checkout's root is tried when this checkout has none beside it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import Ajv from 'ajv';
import { packageRoot } from './red-runtime';

const RELATIVE = path.join('..', 'shared', 'data', 'suricata-eve-schema.json');

function schemaFile(): string {
  const here = path.resolve(packageRoot, RELATIVE);
  if (fs.existsSync(here)) return here;
  const common = execFileSync('git', ['rev-parse', '--path-format=absolute', '--git-common-dir'], { cwd: packageRoot, encoding: 'utf8' }).trim();
  const main = path.resolve(path.dirname(common), RELATIVE);
  if (fs.existsSync(main)) return main;
  throw new Error(`Suricata's EVE schema is not at ${here} (nor ${main}): the tests read it from ../shared/data/ beside the repository`);
}

export interface EveValidator {
  /** null when `record` is a valid EVE record, else the schema's complaints. */
  errors(record: unknown): string | null;
}

export function eveValidator(): EveValidator {
  const schema = JSON.parse(fs.readFileSync(schemaFile(), 'utf8')) as object;
  const ajv = new Ajv({ allErrors: true, schemaId: 'auto', unknownFormats: 'ignore' });
  const validate = ajv.compile(schema);
  return {
    errors(record) {
      return validate(record) ? null : ajv.errorsText(validate.errors, { separator: '; ' });
    },
  };
}
