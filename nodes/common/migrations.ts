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

export type SavedConfig = Record<string, unknown>;

interface Migration {
  /** The version this migration produces. */
  version: number;
  /** What changed, for the log. */
  change: string;
  up(config: SavedConfig): SavedConfig;
}

/** Rename `from` to `to` unless the config already has `to`. */
function rename(from: string, to: string): (c: SavedConfig) => SavedConfig {
  return (c) => {
    if (!(from in c)) return c;
    const { [from]: value, ...rest } = c;
    return to in rest ? rest : { ...rest, [to]: value };
  };
}

const MIGRATIONS: Readonly<Record<string, readonly Migration[]>> = {
  'pcap-in': [{ version: 1, change: 'batchDelay is now batchDelayMs', up: rename('batchDelay', 'batchDelayMs') }],
  'iptables-block': [{ version: 1, change: 'duration is now durationS', up: rename('duration', 'durationS') }],
  // The editor saved `timeout`; config messages always said `timeoutMs`: one name now.
  'nfqueue-in': [{ version: 1, change: 'timeout is now timeoutMs', up: rename('timeout', 'timeoutMs') }],
};

/** The config version this release writes for `type`. */
export function currentVersion(type: string): number {
  const list = MIGRATIONS[type] ?? [];
  return list.length === 0 ? 0 : list[list.length - 1].version;
}

/** `config` brought to the current version (a new object; the input is not changed). */
export function migrate(type: string, config: SavedConfig): SavedConfig {
  const from = typeof config.version === 'number' ? config.version : Number(config.version ?? 0) || 0;
  let out: SavedConfig = config;
  for (const m of MIGRATIONS[type] ?? []) {
    if (m.version > from) out = m.up(out);
  }
  return out === config ? config : { ...out, version: currentVersion(type) };
}

/** The changes `migrate` would apply to a config of `version`, for the log and the tests. */
export function pendingChanges(type: string, version: number): string[] {
  return (MIGRATIONS[type] ?? []).filter((m) => m.version > version).map((m) => m.change);
}
