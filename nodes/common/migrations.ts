/**
 * Saved node configs from older releases, brought up to date when the node
 * starts (as node-red-contrib-home-assistant-websocket does): a flow exported
 * from 0.1.0 deploys unchanged and behaves as it did. A config without
 * `version` is from 0.1.0 (version 0); each migration lifts it by one. The
 * editor's `defaults` carry the current version (generated from
 * `currentVersion`), so a node saved by this release is not migrated again.
 *
 * Add a migration when a setting is renamed, split or changes meaning; never
 * edit one that has shipped.
 */

import { isBlankText } from '../../lib/base/settings';

export type SavedConfig = Record<string, unknown>;

interface Migration {
  /** The version this migration produces. */
  version: number;
  /** What changed, for the log. */
  change: string;
  /** A setting it renames, [old, new]: the editor keeps the old one (editor.ts) so the node can rename it. */
  renames?: readonly [string, string];
  up(config: SavedConfig): SavedConfig;
}

const isBlank = (v: unknown): boolean => v === undefined || v === null || isBlankText(v);

/**
 * `from` renamed `to`. The new name wins when it holds a value; a blank one
 * (the editor's empty field for a node saved by 0.1.0 and then opened and
 * closed in this release's editor) takes the old value.
 */
function rename(version: number, from: string, to: string): Migration {
  return {
    version,
    change: `${from} is now ${to}`,
    renames: [from, to],
    up(c) {
      if (!(from in c)) return c;
      const { [from]: value, ...rest } = c;
      return isBlank(rest[to]) ? { ...rest, [to]: value } : rest;
    },
  };
}

const MIGRATIONS: Readonly<Record<string, readonly Migration[]>> = {
  'pcap-in': [rename(1, 'batchDelay', 'batchDelayMs')],
  'iptables-block': [rename(1, 'duration', 'durationS')],
  // The editor saved `timeout`; config messages always said `timeoutMs`: one name now.
  'nfqueue-in': [rename(1, 'timeout', 'timeoutMs')],
};

/** The config version this release writes for `type`. */
export function currentVersion(type: string): number {
  const list = MIGRATIONS[type] ?? [];
  return list.length === 0 ? 0 : list[list.length - 1].version;
}

/** `config` brought to the current version (a new object; the input is not changed). */
/** The version a saved config was written by (0: 0.1.0, which wrote none). */
export function versionOf(config: SavedConfig): number {
  return typeof config.version === 'number' ? config.version : Number(config.version ?? 0) || 0;
}

export function migrate(type: string, config: SavedConfig): SavedConfig {
  const from = versionOf(config);
  let out: SavedConfig = config;
  for (const m of MIGRATIONS[type] ?? []) {
    if (m.version > from) out = m.up(out);
  }
  return out === config ? config : { ...out, version: currentVersion(type) };
}

/** The changes `migrate` applies to a config of `version`, for the node's log. */
export function pendingChanges(type: string, version: number): string[] {
  return (MIGRATIONS[type] ?? []).filter((m) => m.version > version).map((m) => m.change);
}

/**
 * Settings of older releases that the editor must keep: Node-RED's editor
 * loads only the properties its `defaults` name, so a renamed setting not
 * named there would be dropped at the next deploy before the node could
 * rename it.
 */
export function legacySettings(type: string): string[] {
  return (MIGRATIONS[type] ?? []).flatMap((m) => (m.renames ? [m.renames[0]] : []));
}
