/**
 * ip-reputation's settings, apart from its engine so the node table
 * (nodes/common/node-types.ts), which every node loads, pulls in no npm
 * package (the engine reads MMDB files with mmdb-lib).
 */
import type { Schema } from '../../base/settings';
import { CHAIN_NAME, NFT_TABLE_NAME, SET_BASE_NAME } from '../firewall/names';

export interface ReputationSettings {
  sources: string;
  allowlist: string[];
  mode: 'alert' | 'drop';
  cooldownS: number;
  timeoutS: number;
  maxMB: number;
  maxBadPercent: number;
  minKeepPercent: number;
  enforce: 'off' | 'ipset' | 'nftables';
  setName: string;
  chain: string;
  table: string;
  maxElem: number;
  protectOwn: boolean;
  protectGateway: boolean;
  dryRun: boolean;
  geoip: boolean;
  asn: boolean;
  mmdbFile: string;
  watchCountries: string;
}

export const reputationSchema: Schema<ReputationSettings> = {
  sources: { type: 'json', default: '[]', label: 'Lists', help: 'JSON array of { name, url (http/https or absolute file path), format (auto, plain, spamhaus-drop, spamhaus-json, feodo, feodo-csv), category, severity, refreshS }' },
  allowlist: { type: 'cidrs', default: [], label: 'Allowlist', help: 'addresses and networks never alerted on, dropped or loaded into a kernel set, whatever the lists say' },
  mode: { type: 'enum', values: ['alert', 'drop'], default: 'alert', label: 'Mode', help: "'drop': packets to or from a listed address get verdict 'drop' (nfqueue-in drops them)" },
  cooldownS: { type: 'number', min: 0, max: 86_400, default: 600, unit: 's', label: 'Repeat after', help: 'one alert per device and list this often; the hits between are counted' },
  timeoutS: { type: 'number', min: 1, max: 600, default: 30, unit: 's', label: 'Timeout', help: 'a download must be complete within this' },
  maxMB: { type: 'number', min: 1, max: 1024, default: 64, unit: 'MB', label: 'Size cap', help: 'a download larger than this is stopped and refused' },
  maxBadPercent: { type: 'number', min: 0, max: 100, default: 10, unit: '%', label: 'Unreadable', help: 'refuse a download with more unreadable lines than this share' },
  minKeepPercent: { type: 'number', min: 0, max: 100, default: 20, unit: '%', label: 'Shrink floor', help: 'refuse a download with fewer entries than this share of the last good copy' },
  enforce: { type: 'enum', values: ['off', 'ipset', 'nftables'], default: 'off', label: 'Kernel sets', help: 'load the lists into an ipset hash:net or nftables interval set that drops traffic to and from them' },
  setName: { type: 'string', pattern: SET_BASE_NAME, default: 'ips-rep', label: 'Set name', help: 'ipset: the sets are <name>-v4 and <name>-v6' },
  chain: { type: 'string', pattern: CHAIN_NAME, default: 'IPS-REP', label: 'Chain', help: "ipset: the node's own iptables chain" },
  table: { type: 'string', pattern: NFT_TABLE_NAME, default: 'ips_rep', label: 'Table', help: 'nftables: the table inet <table>' },
  maxElem: { type: 'int', min: 1, max: 16_777_216, default: 1_048_576, unit: 'entries', label: 'Set size', help: 'most networks per kernel set' },
  protectOwn: { type: 'bool', default: true, label: 'Protect own', help: "never load this box's own addresses into a kernel set" },
  protectGateway: { type: 'bool', default: true, label: 'Protect gateway', help: 'never load the default gateways into a kernel set' },
  dryRun: { type: 'bool', default: false, label: 'Dry-run', help: 'kernel sets: report the commands, change nothing' },
  geoip: { type: 'bool', default: true, label: 'GeoIP', help: 'add country, asn and asOrg to alerts and flow records (DB-IP Lite data, CC-BY-4.0)' },
  asn: { type: 'bool', default: true, label: 'ASN', help: 'add the AS number and organisation too (about 30 MB more memory)' },
  mmdbFile: { type: 'string', maxLength: 4096, pattern: '/.*', patternError: 'is relative: give an absolute path', default: '', label: 'MMDB file', help: 'a country MMDB file to use instead of the shipped DB-IP Lite one; blank = shipped' },
  watchCountries: { type: 'string', maxLength: 1000, pattern: '([A-Za-z]{2}[ ,]*)*', patternError: 'is not a list of two-letter country codes', default: '', label: 'Watch countries', help: "alert on connections to these countries (two-letter codes, e.g. 'KP, IR'); blank = none" },
};
