import type { NodeAPI, Node, NodeDef, NodeMessageInFlow } from 'node-red';
import { checkFields, Enricher, type FieldChoice } from '../../lib/net/enrich';
import { DEFAULT_LEASE_FILE, NeighbourTable } from '../../lib/net/neighbours';
import { status, shortError } from '../common/status';

interface VendorLookupConfig extends NodeDef {
  fields: string;
  ipField: string;
  macField: string;
  vendorField: string;
  hostnameField: string;
  outMacField: string;
  leaseFile: string;
  neighbours: boolean;
  refreshS: string;
}

export = function (RED: NodeAPI): void {
  function VendorLookupNode(this: Node, config: VendorLookupConfig): void {
    RED.nodes.createNode(this, config);
    setup(this, config);
  }

  function setup(node: Node, config: VendorLookupConfig): void {
    let enricher: Enricher;
    let table: NeighbourTable;
    let refreshMs: number;
    try {
      const fields: FieldChoice = config.fields === 'custom'
        ? checkFields({ ip: config.ipField ?? '', mac: config.macField ?? '', outVendor: config.vendorField ?? '', outHostname: config.hostnameField ?? '', outMac: config.outMacField ?? '' })
        : 'auto';
      const leaseFile = config.leaseFile === undefined ? DEFAULT_LEASE_FILE : config.leaseFile.trim() || null;
      if (leaseFile !== null && !leaseFile.startsWith('/')) throw new Error(`lease file must be an absolute path, got '${leaseFile}'`);
      const refreshS = config.refreshS === undefined || config.refreshS === '' ? 30 : Number(config.refreshS);
      if (!Number.isFinite(refreshS) || refreshS < 1 || refreshS > 86_400) throw new Error(`refresh must be 1-86400 s, got '${config.refreshS}'`);
      refreshMs = refreshS * 1000;
      table = new NeighbourTable({ leaseFile, useNeighbours: config.neighbours !== false });
      enricher = new Enricher(table, fields);
    } catch (err) {
      status.error(node, shortError(err));
      node.error(err);
      return;
    }
    let refreshing: Promise<void> | null = null;
    const refresh = (): Promise<void> => {
      refreshing ??= table.refresh().then(() => {
        enricher.misses = 0;
        status.ok(node, `${table.size} hosts known`);
      }, (err: Error) => {
        status.error(node, shortError(err));
        node.error(err);
      }).finally(() => {
        refreshing = null;
      });
      return refreshing;
    };
    const timer = setInterval(() => void refresh(), refreshMs);
    const ready = refresh();

    node.on('input', (msg: NodeMessageInFlow, send, done) => {
      // The first message waits for the first reading of the neighbour table and leases.
      void ready.then(() => {
        try {
          enricher.enrich(msg.payload);
          // An address we do not know yet: read the tables again soon, not only at the next period.
          if (enricher.misses > 0 && Date.now() - table.lastRefresh > 2000) void refresh();
          send(msg);
          done();
        } catch (err) {
          done(err as Error);
        }
      });
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      clearInterval(timer);
      status.clear(node);
      done();
    });
  }
  RED.nodes.registerType('vendor-lookup', VendorLookupNode);
};
