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
import { pcapInSchema } from '../../lib/capture/pcap-input';
import { nfqueueInSchema } from '../../lib/capture/nfqueue-inline';

export const NODE_SCHEMAS: Readonly<Record<string, Schema<object>>> = {
  'flood-detect': floodSchema as Schema<object>,
  'scan-detect': scanSchema as Schema<object>,
  'payload-match': payloadSchema as Schema<object>,
  'pcap-in': pcapInSchema as Schema<object>,
  'nfqueue-in': nfqueueInSchema as Schema<object>,
};
