/**
 * The flow record flow-meter sends and `ips flows` writes: the 5-tuple, the
 * times, why the flow ended, and CICFlowMeter's feature set under
 * CICFlowMeter's own names (its FlowFeature list, from "Protocol" to "Idle
 * Min"), so models trained on CIC-IDS2017/2018-style CSVs find their inputs
 * by name. docs/flow-features.md says what each value is and where it
 * differs from CICFlowMeter's code.
 */

/** The features, in CICFlowMeter's column order. Times in microseconds, rates per second, lengths in payload bytes. */
export const FLOW_FEATURES = [
  'Protocol',
  'Flow Duration',
  'Total Fwd Packet',
  'Total Bwd packets',
  'Total Length of Fwd Packet',
  'Total Length of Bwd Packet',
  'Fwd Packet Length Max',
  'Fwd Packet Length Min',
  'Fwd Packet Length Mean',
  'Fwd Packet Length Std',
  'Bwd Packet Length Max',
  'Bwd Packet Length Min',
  'Bwd Packet Length Mean',
  'Bwd Packet Length Std',
  'Flow Bytes/s',
  'Flow Packets/s',
  'Flow IAT Mean',
  'Flow IAT Std',
  'Flow IAT Max',
  'Flow IAT Min',
  'Fwd IAT Total',
  'Fwd IAT Mean',
  'Fwd IAT Std',
  'Fwd IAT Max',
  'Fwd IAT Min',
  'Bwd IAT Total',
  'Bwd IAT Mean',
  'Bwd IAT Std',
  'Bwd IAT Max',
  'Bwd IAT Min',
  'Fwd PSH Flags',
  'Bwd PSH Flags',
  'Fwd URG Flags',
  'Bwd URG Flags',
  'Fwd Header Length',
  'Bwd Header Length',
  'Fwd Packets/s',
  'Bwd Packets/s',
  'Packet Length Min',
  'Packet Length Max',
  'Packet Length Mean',
  'Packet Length Std',
  'Packet Length Variance',
  'FIN Flag Count',
  'SYN Flag Count',
  'RST Flag Count',
  'PSH Flag Count',
  'ACK Flag Count',
  'URG Flag Count',
  'CWR Flag Count',
  'ECE Flag Count',
  'Down/Up Ratio',
  'Average Packet Size',
  'Fwd Segment Size Avg',
  'Bwd Segment Size Avg',
  'Fwd Bytes/Bulk Avg',
  'Fwd Packet/Bulk Avg',
  'Fwd Bulk Rate Avg',
  'Bwd Bytes/Bulk Avg',
  'Bwd Packet/Bulk Avg',
  'Bwd Bulk Rate Avg',
  'Subflow Fwd Packets',
  'Subflow Fwd Bytes',
  'Subflow Bwd Packets',
  'Subflow Bwd Bytes',
  'FWD Init Win Bytes',
  'Bwd Init Win Bytes',
  'Fwd Act Data Pkts',
  'Fwd Seg Size Min',
  'Active Mean',
  'Active Std',
  'Active Max',
  'Active Min',
  'Idle Mean',
  'Idle Std',
  'Idle Max',
  'Idle Min',
] as const;

export type FlowFeatureName = (typeof FLOW_FEATURES)[number];

/** Key of the hidden array of a record's feature values in FLOW_FEATURES order (set by flow-meter, absent after a message clone). */
export const FEATURE_VALUES = Symbol('flow feature values');

/** The feature values of `r` in FLOW_FEATURES order, when flow-meter attached them (to the record, not enumerable). */
export function featureValues(r: FlowRecord): readonly number[] | undefined {
  return (r as unknown as { [FEATURE_VALUES]?: number[] })[FEATURE_VALUES];
}

/** Why a record was sent: the flow ended (FIN both ways, RST, idle or active timeout, evicted from a full table, flushed at the end of a capture or on request), or an interim report of a flow still open. */
export type FlowEndReason = 'fin' | 'rst' | 'idle' | 'active' | 'evicted' | 'flush' | 'interim';

/** `msg.payload` on flow-meter's second output; one CSV row of `ips flows`. */
export interface FlowRecord {
  /** CICFlowMeter's "Flow ID": forward source-destination-sport-dport-protocol number. */
  flowId: string;
  /** The forward direction: `src` sent the flow's first packet. */
  src: string;
  sport: number;
  dst: string;
  dport: number;
  proto: string;
  /** Packet time of the first and the last packet, ms since epoch. */
  start: number;
  end: number;
  reason: FlowEndReason;
  features: Record<FlowFeatureName, number>;
}

/** Loose check that a value is a FlowRecord (for flow-classify's input). */
export function looksLikeFlowRecord(value: unknown): value is FlowRecord {
  if (value === null || typeof value !== 'object') return false;
  const r = value as Partial<FlowRecord>;
  return typeof r.flowId === 'string' && typeof r.src === 'string' && r.features !== null && typeof r.features === 'object';
}

/** The CSV header of `ips flows` (and the analyst dashboard's export): identity columns, then the features, then the optional label. */
export const FLOW_CSV_IDENTITY = ['Flow ID', 'Src IP', 'Src Port', 'Dst IP', 'Dst Port', 'Timestamp', 'End Reason'] as const;

/** One record as CSV values in the order of flowCsvHeader (Timestamp as ISO text, as CICFlowMeter writes a date). */
export function flowCsvValues(r: FlowRecord, label?: string): (string | number)[] {
  const row: (string | number)[] = [r.flowId, r.src, r.sport, r.dst, r.dport, new Date(r.start).toISOString(), r.reason];
  for (const name of FLOW_FEATURES) row.push(r.features[name]);
  if (label !== undefined) row.push(label);
  return row;
}

export function flowCsvHeader(withLabel: boolean): string[] {
  return [...FLOW_CSV_IDENTITY, ...FLOW_FEATURES, ...(withLabel ? ['Label'] : [])];
}
