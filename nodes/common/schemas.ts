/**
 * Every node type's settings schema, by type: what the build generates the
 * editor defaults and help tables from (scripts/copy-assets.js), what
 * scripts/make-flows.js writes into the shipped flows, and what the tests
 * check the docs and flows against.
 */
import type { Schema } from '../../lib/base/settings';
import { floodSchema } from '../../lib/detect/flood';
import { scanSchema } from '../../lib/detect/scan';
import { payloadSchema } from '../../lib/detect/payload/detector';
import { blockSchema } from '../../lib/net/firewall/blocker';
import { bandwidthSchema } from '../../lib/net/bandwidth';
import { conntrackPollSchema } from '../../lib/net/conntrack-poll';
import { vendorLookupSchema } from '../../lib/net/vendor-lookup';
import { sqliteLogSchema } from '../../lib/store/settings';
import { pcapInSchema } from '../../lib/capture/pcap-input';
import { nfqueueInSchema } from '../../lib/capture/nfqueue-inline';

export const NODE_SCHEMAS: Readonly<Record<string, Schema<object>>> = {
  'flood-detect': floodSchema as Schema<object>,
  'scan-detect': scanSchema as Schema<object>,
  'payload-match': payloadSchema as Schema<object>,
  'iptables-block': blockSchema as Schema<object>,
  'conntrack-poll': conntrackPollSchema as Schema<object>,
  'bandwidth-threshold': bandwidthSchema as Schema<object>,
  'vendor-lookup': vendorLookupSchema as Schema<object>,
  'sqlite-log': sqliteLogSchema as Schema<object>,
  'pcap-in': pcapInSchema as Schema<object>,
  'nfqueue-in': nfqueueInSchema as Schema<object>,
};
