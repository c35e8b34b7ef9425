/**
 * Every node type of the pack, with what the scaffold, the build and the
 * tests need to know of it before it runs: its settings schema (declared in
 * lib/ next to its engine) and what it does with a bad configuration. The
 * scaffold (ips-node.ts) takes both from here, the build generates each
 * node's editor defaults, help table and bad-configuration paragraph from
 * here (scripts/copy-assets.js), scripts/make-flows.js writes the shipped
 * flows' settings from here, and the tests check the docs and flows against it.
 */
import type { Schema } from '../../lib/base/settings';
import { floodSchema } from '../../lib/detect/flood';
import { scanSchema } from '../../lib/detect/scan';
import { payloadSchema } from '../../lib/detect/payload/detector';
import { blockSchema } from '../../lib/net/firewall/blocker';
import { bandwidthSchema } from '../../lib/net/bandwidth';
import { conntrackPollSchema } from '../../lib/net/conntrack-poll';
import { vendorLookupSchema } from '../../lib/net/vendor-lookup';
import { lanWatchSchema } from '../../lib/net/lan-watch';
import { reputationSchema } from '../../lib/net/reputation/settings';
import { sqliteLogSchema } from '../../lib/store/settings';
import { pcapInSchema } from '../../lib/capture/pcap-input';
import { nfqueueInSchema } from '../../lib/capture/nfqueue-inline';
import { flowMeterSchema } from '../../lib/detect/flow/meter';
import { flowClassifySchema } from '../../lib/detect/ml/classifier';
import { fleetCentralSchema, fleetSensorSchema } from '../../lib/fleet/settings';
import { notifySchema } from '../../lib/net/notify';

/**
 * What a node does while its settings are bad (it always shows why, in red):
 * 'pass-through' for nodes on the packet and message path, which pass every
 * message on unchecked (fail-open) so a typo cannot cut the network;
 * 'refuse' for sources, sinks and actuators, which refuse every message with
 * the reason and do nothing.
 */
export type BadConfigPolicy = 'pass-through' | 'refuse';

export interface NodeType<S> {
  schema: Schema<S>;
  onBadConfig: BadConfigPolicy;
}

function nodeType<S>(schema: Schema<S>, onBadConfig: BadConfigPolicy): NodeType<S> {
  return { schema, onBadConfig };
}

export const NODE_TYPES = {
  'pcap-in': nodeType(pcapInSchema, 'refuse'),
  'nfqueue-in': nodeType(nfqueueInSchema, 'refuse'),
  'conntrack-poll': nodeType(conntrackPollSchema, 'refuse'),
  'flood-detect': nodeType(floodSchema, 'pass-through'),
  'scan-detect': nodeType(scanSchema, 'pass-through'),
  'payload-match': nodeType(payloadSchema, 'pass-through'),
  'lan-watch': nodeType(lanWatchSchema, 'pass-through'),
  'flow-meter': nodeType(flowMeterSchema, 'pass-through'),
  'flow-classify': nodeType(flowClassifySchema, 'pass-through'),
  'bandwidth-threshold': nodeType(bandwidthSchema, 'pass-through'),
  'vendor-lookup': nodeType(vendorLookupSchema, 'pass-through'),
  'ip-reputation': nodeType(reputationSchema, 'pass-through'),
  'iptables-block': nodeType(blockSchema, 'refuse'),
  'sqlite-log': nodeType(sqliteLogSchema, 'refuse'),
  'fleet-sensor': nodeType(fleetSensorSchema, 'refuse'),
  'fleet-central': nodeType(fleetCentralSchema, 'refuse'),
  'push-notify': nodeType(notifySchema, 'refuse'),
};

export type NodeTypeName = keyof typeof NODE_TYPES;

/** The settings type of a node type. */
export type SettingsOf<T extends NodeTypeName> = (typeof NODE_TYPES)[T] extends NodeType<infer S extends object> ? S : never;

/** Each node type's schema, untyped, for code that walks them all. */
export const NODE_SCHEMAS: Readonly<Record<string, Schema<object>>> = Object.fromEntries(
  Object.entries(NODE_TYPES).map(([type, t]) => [type, t.schema as Schema<object>]),
);
