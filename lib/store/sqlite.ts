/**
 * Promise helpers over npm `sqlite3` and plain-words errors for the faults a
 * user can fix (missing directory, read-only file, full disk, lock held by
 * another process).
 */
import fs from 'node:fs';
import path from 'node:path';
import sqlite3 from 'sqlite3';

export type SqlValue = string | number | null;
export type SqlRow = Record<string, SqlValue>;

export type Db = sqlite3.Database;
export type Stmt = sqlite3.Statement;

/** Open a connection; `readOnly` opens without create/write. */
export function openDb(file: string, readOnly = false): Promise<Db> {
  const mode = readOnly ? sqlite3.OPEN_READONLY : sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE;
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, mode, (err) => (err ? reject(err) : resolve(db)));
  });
}

export function closeDb(db: Db): Promise<void> {
  return new Promise((resolve, reject) => db.close((err) => (err ? reject(err) : resolve())));
}

export function run(db: Db, sql: string, params: SqlValue[] = []): Promise<{ changes: number; lastID: number }> {
  return new Promise((resolve, reject) => {
    db.run(sql, params, function (this: sqlite3.RunResult, err: Error | null) {
      if (err) reject(err);
      else resolve({ changes: this.changes, lastID: this.lastID });
    });
  });
}

export function exec(db: Db, sql: string): Promise<void> {
  return new Promise((resolve, reject) => db.exec(sql, (err) => (err ? reject(err) : resolve())));
}

export function all<T = SqlRow>(db: Db, sql: string, params: SqlValue[] = []): Promise<T[]> {
  return new Promise((resolve, reject) => db.all<T>(sql, params, (err, rows) => (err ? reject(err) : resolve(rows))));
}

export function get<T = SqlRow>(db: Db, sql: string, params: SqlValue[] = []): Promise<T | undefined> {
  return new Promise((resolve, reject) => db.get<T>(sql, params, (err, row) => (err ? reject(err) : resolve(row))));
}

export function prepare(db: Db, sql: string): Promise<Stmt> {
  return new Promise((resolve, reject) => {
    const stmt: Stmt = db.prepare(sql, (err: Error | null) => (err ? reject(err) : resolve(stmt)));
  });
}

export function stmtRun(stmt: Stmt, params: SqlValue[]): Promise<void> {
  return new Promise((resolve, reject) => stmt.run(params, (err: Error | null) => (err ? reject(err) : resolve())));
}

/** Next row of a statement stepped one row at a time (a cursor: memory stays flat for any result size). */
export function stmtNext<T = SqlRow>(stmt: Stmt): Promise<T | undefined> {
  return new Promise((resolve, reject) => stmt.get<T>((err, row) => (err ? reject(err) : resolve(row))));
}

export function finalize(stmt: Stmt): Promise<void> {
  return new Promise((resolve) => stmt.finalize(() => resolve()));
}

/** SQLite result code name ('SQLITE_BUSY', ...) of an error from `sqlite3`, if any. */
export function sqliteCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** True when the fault is another connection holding the lock (retry the same connection). */
export function isBusy(err: unknown): boolean {
  const code = sqliteCode(err);
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
}

/** Why `dir` cannot be written (read-only file system, no permission), or null. */
function writeProblem(dir: string): string | null {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EROFS') return `the file system holding ${dir} is mounted read-only`;
    if (code === 'EACCES' || code === 'EPERM') return `no permission to write in ${dir}`;
    return null;
  }
}

/** A user-facing message naming the file and what to do about the fault. */
export function describeDbError(err: unknown, file: string): string {
  const raw = err instanceof Error ? err.message : String(err);
  const code = sqliteCode(err);
  const dir = path.dirname(file);
  switch (code) {
    case 'SQLITE_CANTOPEN': {
      if (!fs.existsSync(dir)) return `cannot open database ${file}: directory ${dir} does not exist (create it or change the file path)`;
      const why = writeProblem(dir);
      if (why) return `database ${file} is read-only: ${why} (${raw})`;
      return `cannot open database ${file}: ${raw} (check that ${dir} is writable and the path is a file)`;
    }
    case 'SQLITE_READONLY': {
      const why = writeProblem(dir);
      return `database ${file} is read-only: ${why ? `${why} (${raw})` : `${raw} (check file permissions and that the file system is mounted read-write)`}`;
    }
    case 'SQLITE_FULL':
      return `disk full writing ${file}: ${raw} (free space on the file system holding ${dir})`;
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return `database ${file} is locked by another connection or process: ${raw} (rows kept, retrying)`;
    case 'SQLITE_NOTADB':
      return `${file} is not a SQLite database: ${raw}`;
    case 'SQLITE_CORRUPT':
      return `database ${file} is corrupt: ${raw}`;
    case 'SQLITE_IOERR':
      return `I/O error on ${file}: ${raw} (disk full, removed or read-only file system?)`;
    case 'SQLITE_PERM':
      return `permission denied on ${file}: ${raw}`;
    default:
      return `database ${file}: ${raw}`;
  }
}
