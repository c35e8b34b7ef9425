/**
 * One LogStore per database file in this process, shared by every node that
 * logs to it (reference counted). Several nodes on one file then share one
 * write connection and one writer, so they cannot lock each other out; the
 * busy timeout covers other processes. The first node to open a file sets
 * its writer and retention options; later ones with different options get a
 * warning naming the difference.
 */
import path from 'node:path';
import { LogStore, type CloseResult } from './store';
import type { StoreOptions } from './options';

interface Entry {
  store: LogStore;
  refs: number;
  optionsKey: string;
  /** The store's first attempt to open the file has finished. */
  opened: Promise<void>;
}

const open = new Map<string, Entry>();
/** Stores being closed, so a reopen of the same file waits for the last flush. */
const closing = new Map<string, Promise<unknown>>();

export interface StoreLease {
  store: LogStore;
  /** Set when this file was already open with other options. */
  warning?: string;
  /** Resolves once the store's first attempt to open the file has finished (opened, or its fault raised). */
  opened: Promise<void>;
  /** Drop this reference; the last one flushes and closes the store. */
  release(): Promise<CloseResult>;
}

export function acquireStore(file: string, options: Partial<StoreOptions> = {}): StoreLease {
  const key = path.resolve(file);
  const optionsKey = JSON.stringify(options);
  let entry = open.get(key);
  let warning: string | undefined;
  if (entry) {
    entry.refs++;
    if (entry.optionsKey !== optionsKey) warning = `${key} is already open with other writer/retention options; the first node's options apply (${entry.optionsKey})`;
  } else {
    const store = new LogStore(key, options, closing.get(key) ?? Promise.resolve());
    entry = { store, refs: 1, optionsKey, opened: store.start() };
    open.set(key, entry);
  }
  const held = entry;
  let released = false;
  return {
    store: held.store,
    warning,
    opened: held.opened,
    async release() {
      if (released) return { unwritten: 0 };
      released = true;
      held.refs--;
      if (held.refs > 0) return { unwritten: 0 };
      if (open.get(key) === held) open.delete(key);
      const done = held.store.close();
      closing.set(key, done);
      try {
        return await done;
      } finally {
        if (closing.get(key) === done) closing.delete(key);
      }
    },
  };
}

/** Files with an open store and their reference counts (for tests and diagnostics). */
export function openStores(): Map<string, number> {
  return new Map([...open].map(([k, e]) => [k, e.refs]));
}

/** The store open on a file, if any (for tests and diagnostics: tells a kept store from a reopened one). */
export function openStore(file: string): LogStore | undefined {
  return open.get(path.resolve(file))?.store;
}
