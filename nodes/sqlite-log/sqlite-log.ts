import path from 'node:path';
import type { NodeAPI, Node, NodeDef, NodeMessageInFlow } from 'node-red';
import { recognise, type IncomingMessage } from '../../lib/store/records';
import { acquireStore, type StoreLease } from '../../lib/store/registry';
import { parseQuery, runQuery } from '../../lib/store/queries';
import { exportTable, parseExport } from '../../lib/store/export';
import { numberSetting, storeOptionsFromSettings, type StoreSettings } from '../../lib/store/settings';
import { status, shortError } from '../common/status';

interface SqliteLogConfig extends NodeDef, StoreSettings {
  file: string;
  queryLimit: string;
  exportDir: string;
}

export = function (RED: NodeAPI): void {
  function SqliteLogNode(this: Node, config: SqliteLogConfig): void {
    RED.nodes.createNode(this, config);
    const node: Node = this; // eslint-disable-line @typescript-eslint/no-this-alias -- used in store callbacks
    let lease: StoreLease;
    let queryLimit: number;
    let exportDir: string;
    try {
      const base = RED.settings.userDir ?? process.cwd();
      const file = path.resolve(base, config.file || 'ips-log.db');
      queryLimit = numberSetting(config.queryLimit, 1000, 'query row limit', 1, 100_000);
      exportDir = config.exportDir ? path.resolve(base, config.exportDir) : path.dirname(file);
      lease = acquireStore(file, storeOptionsFromSettings(config));
    } catch (err) {
      node.error(err);
      status.error(node, shortError(err));
      this.on('input', (_msg: NodeMessageInFlow, _send: unknown, done: (err?: Error) => void) => done(new Error(`not configured: ${(err as Error).message}`)));
      return;
    }
    const store = lease.store;
    if (lease.warning) node.warn(lease.warning);
    const exports = new AbortController();

    let statusTimer: NodeJS.Timeout | null = null;
    const showStatus = () => {
      if (statusTimer) return;
      statusTimer = setTimeout(() => {
        statusTimer = null;
        const s = store.getStats();
        const total = s.written.alerts + s.written.devices + s.written.flows + s.written.blocks;
        if (s.fault) status.error(node, `${shortError(s.fault, 40)} · ${s.pending} kept`);
        else if (s.dropped) status.warn(node, `${total} rows · ${s.dropped} dropped`);
        else status.ok(node, `${total} rows · ${s.pending} pending`);
      }, 500);
    };
    const onFault = (message: string) => {
      node.error(`${message}; ${store.getStats().pending} rows kept and retried`);
      status.error(node, shortError(message));
    };
    const onRecovered = (message: string) => {
      node.log(message);
      showStatus();
    };
    const onDropped = (count: number) => {
      node.warn(`dropped ${count} oldest unwritten rows: more than ${store.options.maxPending} waiting while the database cannot be written`);
      showStatus();
    };
    store.on('fault', onFault);
    store.on('recovered', onRecovered);
    store.on('dropped', onDropped);
    store.on('flushed', showStatus);
    status.idle(node, 'opening');

    this.on('input', (msg: NodeMessageInFlow, send: (m: NodeMessageInFlow) => void, done: (err?: Error) => void) => {
      let what: ReturnType<typeof recognise>;
      try {
        what = recognise(msg as IncomingMessage, Date.now());
      } catch (err) {
        done(err as Error);
        return;
      }
      if (what.type === 'records') {
        try {
          if (what.items.length) store.add(what.items);
        } catch (err) {
          done(err as Error);
          return;
        }
        showStatus();
        if (what.refused.length) {
          done(new Error(`refused ${what.refused.length} record(s), stored ${what.items.length}: ${what.refused.slice(0, 3).join('; ')}`));
        } else done();
        return;
      }
      const request = what.request;
      const reply = async () => {
        // Rows still waiting are written first so a query sees them; a write fault does not stop reading.
        await store.flush().catch(() => undefined);
        if (what.type === 'query') {
          const req = parseQuery(request, queryLimit);
          const result = await runQuery(await store.readConnection(), req);
          const out = msg as NodeMessageInFlow & { count?: number; bucketMs?: number };
          out.payload = result.payload;
          out.topic = result.name;
          out.count = result.count;
          if (result.bucketMs !== undefined) out.bucketMs = result.bucketMs;
          send(out);
        } else {
          const req = parseExport(request, exportDir);
          const result = await exportTable(await store.readConnection(), req, exports.signal);
          msg.payload = result;
          msg.topic = 'export';
          send(msg);
        }
      };
      reply().then(() => done(), (err: Error) => {
        if ((err as { code?: string }).code) void store.resetReader();
        done(err);
      });
    });

    this.on('close', (_removed: boolean, done: () => void) => {
      exports.abort();
      if (statusTimer) clearTimeout(statusTimer);
      store.off('fault', onFault);
      store.off('recovered', onRecovered);
      store.off('dropped', onDropped);
      store.off('flushed', showStatus);
      lease.release().then((res) => {
        if (res.unwritten) node.error(`closing: ${res.unwritten} rows could not be written to ${store.file}: ${res.error ?? 'unknown fault'}`);
      }, (err: Error) => node.error(err)).finally(() => {
        status.clear(node);
        done();
      });
    });
  }
  RED.nodes.registerType('sqlite-log', SqliteLogNode);
};
