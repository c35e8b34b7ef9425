/** Firewall backends and the blocklist engine, picked by name from a node's settings. */
import type { BackendKind, FirewallBackend } from './backend';
import { IpsetBackend } from './ipset';
import { IptablesRulesBackend } from './iptables-rules';
import { NftBackend } from './nftables';
import type { CommandRunner } from './runner';

export * from './backend';
export * from './blocklist';
export * from './runner';
export { IpsetBackend } from './ipset';
export { NftBackend } from './nftables';
export { IptablesRulesBackend } from './iptables-rules';

export interface BackendSettings {
  backend: BackendKind;
  /** iptables chain (ipset and iptables backends). */
  chain: string;
  /** ipset base name (sets `<name>-v4`, `<name>-v6`). */
  setName: string;
  /** nftables table in family inet. */
  table: string;
  maxElem: number;
}

export const BACKEND_KINDS: readonly BackendKind[] = ['ipset', 'nftables', 'iptables'];

export function createBackend(runner: CommandRunner, s: BackendSettings): FirewallBackend {
  switch (s.backend) {
    case 'ipset':
      return new IpsetBackend(runner, { setName: s.setName, chain: s.chain, maxElem: s.maxElem });
    case 'nftables':
      return new NftBackend(runner, { table: s.table, maxElem: s.maxElem });
    case 'iptables':
      return new IptablesRulesBackend(runner, { chain: s.chain });
    default:
      throw new Error(`unknown firewall backend '${String(s.backend)}': use ${BACKEND_KINDS.join(', ')}`);
  }
}
