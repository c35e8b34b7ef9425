/**
 * Every importable flow file of the package — the shipped flows (flows/) and
 * the examples (examples/, with the shipped flows again under
 * examples/flows/ for the editor's Import › Examples menu) — for the tests
 * that check each node of each flow.
 */
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from './red-runtime';

/** [path relative to the package, nodes] of every .json flow under flows/ and examples/, subdirectories included. */
export function flowFiles(): [string, Record<string, unknown>[]][] {
  const out: [string, Record<string, unknown>[]][] = [];
  const walk = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(packageRoot, rel), { withFileTypes: true })) {
      const child = path.join(rel, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.name.endsWith('.json')) out.push([child, JSON.parse(fs.readFileSync(path.join(packageRoot, child), 'utf8')) as Record<string, unknown>[]]);
    }
  };
  walk('flows');
  walk('examples');
  return out;
}
