/**
 * Alerts on standard output in the four formats of `--format`: `jsonl`
 * (each Alert as the nodes send it, plus `file`), `csv` (a header, then one
 * row per alert: `file` and every Alert field), `eve` (Suricata EVE JSON, one
 * `alert` record per line, `pcap_filename` the file: lib/store/eve.ts),
 * `table` (aligned columns for reading).
 */
import type { Alert } from '../lib/detect/alert';
import { csvLine } from '../lib/base/csv';
import { eveAlert } from '../lib/store/eve';
import type { Format } from './args';

export interface AlertWriter {
  /** One alert raised while reading `file`. */
  alert(file: string, a: Alert): void;
  /** No more alerts. */
  end(): void;
}

/** The Alert fields as CSV columns, in the order of lib/detect/alert.ts. */
const ALERT_FIELDS = ['ts', 'rule', 'sid', 'gid', 'rev', 'signature', 'classtype', 'references', 'category', 'severity', 'action', 'src', 'dst', 'offender', 'proto', 'sport', 'dport', 'srcMac', 'count', 'windowMs', 'threshold', 'reason', 'evidence', 'detector', 'list', 'listCategory', 'listEntry', 'direction', 'device', 'deviceMac', 'deviceVendor', 'country', 'asn', 'asOrg', 'mlClass', 'probability'] as const satisfies readonly (keyof Alert)[];
// A field added to Alert must get its CSV column: this fails to compile, naming the field, until it is in the list.
type UnlistedField = Exclude<keyof Alert, (typeof ALERT_FIELDS)[number]>;
const everyFieldListed: [UnlistedField] extends [never] ? true : UnlistedField = true;
void everyFieldListed;

export const CSV_HEADER = ['file', ...ALERT_FIELDS] as const;

interface Column {
  title: string;
  /** Width a streamed table starts with (a longer value widens only its own line). */
  width: number;
  right?: boolean;
  cell(file: string, a: Alert): string;
}

const TABLE_COLUMNS: readonly Column[] = [
  { title: 'TIME (UTC)', width: 24, cell: (_f, a) => new Date(a.ts).toISOString() },
  { title: 'FILE', width: 12, cell: (f) => f },
  { title: 'SEVERITY', width: 8, cell: (_f, a) => a.severity },
  { title: 'RULE', width: 24, cell: (_f, a) => a.rule },
  { title: 'SOURCE', width: 15, cell: (_f, a) => a.src },
  { title: 'DESTINATION', width: 15, cell: (_f, a) => a.dst },
  { title: 'OFFENDER', width: 15, cell: (_f, a) => a.offender ?? '-' },
  { title: 'PROTO', width: 5, cell: (_f, a) => a.proto },
  { title: 'COUNT', width: 5, right: true, cell: (_f, a) => String(a.count) },
  { title: 'REASON', width: 0, cell: (_f, a) => a.reason },
];

function tableLine(columns: readonly Column[], widths: readonly number[], cells: readonly string[]): string {
  const last = cells.length - 1;
  return `${cells.map((c, i) => (i === last ? c : columns[i].right ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ')}\n`;
}

/**
 * Table: buffered, then at `end` each file's alerts in time order, aligned to
 * the longest value; or (`streaming`, for replay) printed as they come at the
 * columns' starting widths. The FILE column only when several files are read.
 */
function tableWriter(write: (text: string) => void, withFile: boolean, streaming: boolean): AlertWriter {
  const columns = TABLE_COLUMNS.filter((c) => withFile || c.title !== 'FILE');
  const titles = columns.map((c) => c.title);
  const startWidths = columns.map((c) => Math.max(c.width, c.title.length));
  /** Buffered rows; `file` is the file's position in the run, so sorting keeps files apart and in order. */
  const rows: { file: number; ts: number; cells: string[] }[] = [];
  const files: string[] = [];
  if (streaming) write(tableLine(columns, startWidths, titles));
  return {
    alert(file, a) {
      const cells = columns.map((c) => c.cell(file, a));
      if (streaming) return write(tableLine(columns, startWidths, cells));
      if (files.at(-1) !== file) files.push(file);
      rows.push({ file: files.length, ts: a.ts, cells });
    },
    end() {
      if (streaming || rows.length === 0) return;
      rows.sort((x, y) => x.file - y.file || x.ts - y.ts);
      const widths = titles.map((t, i) => Math.max(t.length, ...rows.map((r) => r.cells[i].length)));
      write(tableLine(columns, widths, titles));
      for (const r of rows) write(tableLine(columns, widths, r.cells));
    },
  };
}

export function alertWriter(format: Format, write: (text: string) => void, opts: { withFile: boolean; streaming: boolean }): AlertWriter {
  switch (format) {
    case 'jsonl':
      return { alert: (file, a) => write(`${JSON.stringify({ file, ...a })}\n`), end: () => undefined };
    case 'csv':
      write(csvLine(CSV_HEADER));
      return {
        alert: (file, a) => write(csvLine([file, ...ALERT_FIELDS.map((k) => (k === 'references' ? a.references?.join(' ') : a[k]))])),
        end: () => undefined,
      };
    case 'eve':
      return { alert: (file, a) => write(`${JSON.stringify(eveAlert(a, { pcapFile: file }))}\n`), end: () => undefined };
    case 'table':
      return tableWriter(write, opts.withFile, opts.streaming);
  }
}
