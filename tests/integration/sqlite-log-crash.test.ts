/**
 * SIGKILL a real Node-RED process (child running sqlite-log under load) and
 * check what SQLite promises: the file opens, passes integrity_check, and
 * holds every row of every flush that had committed — rows carry a monotone
 * sequence, so the committed flushes are exactly 1..N with no holes, and N is
 * at least the highest sequence another connection saw committed just
 * before the kill.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { all, closeDb, openDb, get } from '../../lib/store/sqlite';
import { tempDir, waitFor } from '../support/store';

const cleanup: string[] = [];
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of cleanup) fs.rmSync(d, { recursive: true, force: true });
});

/** Highest committed sequence number, read by a separate connection (null while the table does not exist yet). */
async function committedMax(file: string): Promise<number | null> {
  if (!fs.existsSync(file)) return null;
  const db = await openDb(file, true);
  try {
    const row = await get<{ m: number | null }>(db, 'SELECT max(sid) AS m FROM alerts');
    return row?.m ?? null;
  } catch {
    return null;
  } finally {
    await closeDb(db);
  }
}

describe('sqlite-log survives SIGKILL of Node-RED', () => {
  for (const [round, extraMs] of [[1, 0], [2, 37], [3, 81]] as const) {
    it(`round ${round}: the file is intact and holds every committed flush`, async () => {
      const dir = tempDir('crash');
      cleanup.push(dir);
      const file = path.join(dir, 'crash.db');
      const child = spawn(process.execPath, [path.join(__dirname, '..', 'support', 'sqlite-log-crash-child.js'), file], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /"userDir":"([^"]+)"/.exec(out);
        if (m && !cleanup.includes(m[1])) cleanup.push(m[1]);
      });
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      // Generous limits: the point is what survives the kill, not how fast a loaded machine gets there.
      await waitFor(`child ready (stderr: ${err})`, () => out.includes('"ready"') || child.exitCode !== null, 90_000);
      assert.equal(child.exitCode, null, `child exited: ${err}`);
      // Let a few flushes commit under load, then kill mid-stream.
      await waitFor('5,000 rows committed', async () => ((await committedMax(file)) ?? 0) >= 5_000, 120_000);
      await new Promise((r) => setTimeout(r, extraMs));
      const seen = (await committedMax(file)) ?? 0;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      assert.equal(child.signalCode, 'SIGKILL');

      // Open read-write as the next Node-RED start would (WAL recovery runs here).
      const db = await openDb(file);
      try {
        const [check] = await all<{ integrity_check: string }>(db, 'PRAGMA integrity_check');
        assert.equal(check.integrity_check, 'ok');
        const stats = await get<{ n: number; lo: number; hi: number; distinct_n: number }>(db,
          'SELECT count(*) AS n, min(sid) AS lo, max(sid) AS hi, count(DISTINCT sid) AS distinct_n FROM alerts');
        assert.ok(stats);
        assert.ok(stats.hi >= seen, `rows committed before the kill are there (max ${stats.hi} >= seen ${seen})`);
        assert.deepEqual({ lo: stats.lo, n: stats.n, distinct: stats.distinct_n }, { lo: 1, n: stats.hi, distinct: stats.hi }, 'sequence 1..N without holes or duplicates');
        // Flushes are whole: the last one ends on a function-node batch boundary.
        assert.equal(stats.hi % 200, 0);
      } finally {
        await closeDb(db);
      }
    });
  }
});
