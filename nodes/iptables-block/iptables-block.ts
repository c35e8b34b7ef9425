import type { NodeAPI, Node, NodeDef, NodeMessage } from 'node-red';
import {
  Blocklist,
  BACKEND_KINDS,
  createBackend,
  DryRunRunner,
  ExecRunner,
  type BackendKind,
  type CommandRunner,
} from '../../lib/net/firewall';
import { validateInt } from '../../lib/net/firewall/names';
import { blockActionsOf } from '../../lib/net/firewall/messages';
import { MAX_ELEM_LIMIT } from '../../lib/net/firewall/ipset';
import { status, shortError } from '../common/status';

interface IptablesBlockConfig extends NodeDef {
  backend: string;
  chain: string;
  setName: string;
  table: string;
  maxElem: string | number;
  duration: string | number;
  allowlist: string;
  protectOwn: boolean;
  protectGateway: boolean;
  escalate: boolean;
  escalateFactor: string | number;
  escalateWindow: string | number;
  escalateMax: string | number;
  clearOnClose: boolean;
  /** A string when set from an environment variable (`${BLOCK_DRYRUN}`): 'true'/'false'. */
  dryRun: boolean | string;
}

export = function (RED: NodeAPI): void {
  function IptablesBlockNode(this: Node, config: IptablesBlockConfig): void {
    RED.nodes.createNode(this, config);
    let blocklist: Blocklist;
    let runner: CommandRunner;
    try {
      const backend = (config.backend || 'ipset') as BackendKind;
      if (!BACKEND_KINDS.includes(backend)) throw new Error(`unknown backend '${config.backend}': use ${BACKEND_KINDS.join(', ')}`);
      runner = config.dryRun === true || config.dryRun === 'true' ? new DryRunRunner() : new ExecRunner();
      blocklist = new Blocklist({
        backend: createBackend(runner, {
          backend,
          chain: config.chain || 'IPS-BLOCK',
          setName: config.setName || 'ips-block',
          table: config.table || 'ips',
          maxElem: validateInt('set size', config.maxElem === undefined || config.maxElem === '' ? 65536 : config.maxElem, 1, MAX_ELEM_LIMIT),
        }),
        defaultDurationS: validateInt('default duration (s)', config.duration === undefined || config.duration === '' ? 3600 : config.duration, 0, 2 ** 31 - 1),
        allowlist: config.allowlist || '',
        // Reading addresses needs no root, so it is real even in dry-run.
        addressReader: new ExecRunner(),
        protectOwn: config.protectOwn !== false,
        protectGateway: config.protectGateway !== false,
        escalation: config.escalate
          ? { factor: Number(config.escalateFactor ?? 2), windowS: Number(config.escalateWindow ?? 86400), maxDurationS: Number(config.escalateMax ?? 604800) }
          : null,
      });
    } catch (err) {
      status.error(this, shortError(err));
      this.error(`iptables-block: ${(err as Error).message}`);
      this.on('input', (_msg, _send, done) => done(err as Error));
      return;
    }
    const dry = runner instanceof DryRunRunner ? runner : null;
    const label = dry ? ' (dry-run)' : '';

    /** Commands a dry run recorded since the last call, also written to the log. */
    const takeCommands = (): string[] | undefined => {
      if (!dry) return undefined;
      const lines = dry.take();
      for (const l of lines) this.log(`dry-run: ${l}`);
      return lines;
    };
    const showCount = () => status.ok(this, `${blocklist.list().blocked.length} blocked${label}`);

    let started = false;
    const ready = blocklist.start().then(
      (r) => {
        started = true;
        takeCommands();
        if (r.removed.length) this.warn(`removed from the kernel on start (allowlisted, protected or overdue): ${r.removed.join(', ')}`);
        showCount();
      },
      (err: Error) => {
        status.error(this, shortError(err));
        this.error(`iptables-block: start failed: ${err.message}`);
        throw err;
      },
    );
    ready.catch(() => undefined);

    // Set backends expire in the kernel; this only updates the list (and removes plain rules).
    const timer = setInterval(() => {
      if (!started) return;
      const next = blocklist.nextExpiry();
      if (next === 0 || next > Date.now()) return;
      blocklist.expireDue().then(
        (gone) => {
          if (!gone.length) return;
          const commands = takeCommands();
          this.send({ topic: 'blocklist', payload: blocklist.list(), expired: gone, ...(commands ? { commands } : {}) } as NodeMessage);
          showCount();
        },
        (err: Error) => {
          status.error(this, shortError(err));
          this.error(`iptables-block: expiring blocks failed: ${err.message}`);
        },
      );
    }, 1000);

    this.on('input', (msg, send, done) => {
      (async () => {
        await ready;
        const actions = blockActionsOf(msg as { topic?: unknown; payload?: unknown; durationS?: unknown });
        const results: Record<string, unknown>[] = [];
        const refusals: string[] = [];
        let changed = false;
        for (const a of actions) {
          try {
            if (a.kind === 'block') {
              const r = await blocklist.block(a.req);
              results.push({ action: 'block', ip: r.entry.ip, durationS: r.durationS, extended: r.extended, offences: r.offences });
              changed = true;
            } else if (a.kind === 'unblock') {
              const was = await blocklist.unblock(a.ip);
              results.push({ action: 'unblock', ip: a.ip, wasBlocked: was });
              changed = true;
            } else if (a.kind === 'clear') {
              results.push({ action: 'clear', count: await blocklist.clear() });
              changed = true;
            }
          } catch (err) {
            refusals.push((err as Error).message);
          }
        }
        const commands = takeCommands();
        if (changed || actions.some((a) => a.kind === 'list')) {
          const out = msg as NodeMessage & Record<string, unknown>;
          out.topic = 'blocklist';
          out.payload = blocklist.list();
          out.results = results;
          if (commands) out.commands = commands;
          send(out);
        }
        if (refusals.length) {
          status.warn(this, shortError(refusals[refusals.length - 1]));
          throw new Error(refusals.join('; '));
        }
        showCount();
      })().then(() => done(), (err: Error) => done(err));
    });

    this.on('close', (_removed: boolean, done: () => void) => {
      clearInterval(timer);
      // After a failed start there is nothing of ours to close.
      ready
        .then(() => blocklist.close(!!config.clearOnClose), () => undefined)
        .then(() => takeCommands())
        .catch((err: Error) => this.error(`iptables-block: close: ${err.message}`))
        .finally(() => {
          status.clear(this);
          done();
        });
    });
  }
  RED.nodes.registerType('iptables-block', IptablesBlockNode);
};
