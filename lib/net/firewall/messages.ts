/**
 * What a message to `iptables-block` asks for: an Alert (block its
 * `offender`; an alert without one is refused), a { ip, action } command, an
 * array of those, or msg.topic 'block'/'unblock' (payload = address, for
 * dashboard switches), 'list' or 'clear'.
 */
import type { Alert } from '../../detect/alert';
import type { BlockCommand } from '../types';
import type { BlockRequest } from './blocklist';

export type BlockAction =
  | { kind: 'block'; req: BlockRequest }
  | { kind: 'unblock'; ip: string }
  | { kind: 'list' }
  | { kind: 'clear' }
  /** An item that asks for nothing the node may do; `reason` says why. */
  | { kind: 'refuse'; reason: string };

function isAlert(p: unknown): p is Alert {
  return typeof p === 'object' && p !== null && typeof (p as Alert).src === 'string' && typeof (p as Alert).rule === 'string';
}

function isCommand(p: unknown): p is BlockCommand {
  const a = (p as BlockCommand | null)?.action;
  return typeof p === 'object' && p !== null && (a === 'block' || a === 'unblock');
}

function optionalDuration(v: unknown): number | undefined {
  return v === undefined || v === null || v === '' ? undefined : (v as number);
}

/** An alert blocks its offender and nobody else: not its `src` (maybe spoofed), never its `dst` (the victim). */
function alertAction(a: Alert, durationS: unknown): BlockAction {
  const offender: unknown = a.offender;
  if (offender === undefined || offender === null || offender === '') {
    return {
      kind: 'refuse',
      reason: `alert ${a.rule} names no offender: no single address is the attacker (a flood at one target from many sources, or an all-clear), so nothing is blocked, neither its src ${a.src} nor its dst ${a.dst}`,
    };
  }
  if (typeof offender !== 'string') return { kind: 'refuse', reason: `alert ${a.rule}: offender must be an address, got ${JSON.stringify(offender)}` };
  return { kind: 'block', req: { ip: offender, durationS: optionalDuration(durationS), reason: a.reason, rule: a.rule } };
}

/** Map one message to what the blocklist should do; throws with the reason for a message that is none of the above. */
export function blockActionsOf(msg: { topic?: unknown; payload?: unknown; durationS?: unknown }): BlockAction[] {
  const topic = typeof msg.topic === 'string' ? msg.topic : '';
  if (topic === 'list') return [{ kind: 'list' }];
  if (topic === 'clear') return [{ kind: 'clear' }];
  if ((topic === 'block' || topic === 'unblock') && typeof msg.payload === 'string') {
    return topic === 'block'
      ? [{ kind: 'block', req: { ip: msg.payload, durationS: optionalDuration(msg.durationS), reason: 'blocked from the dashboard', rule: 'manual' } }]
      : [{ kind: 'unblock', ip: msg.payload }];
  }
  const items = Array.isArray(msg.payload) ? msg.payload : [msg.payload];
  return items.map((p: unknown): BlockAction => {
    if (isCommand(p)) {
      return p.action === 'block'
        ? { kind: 'block', req: { ip: p.ip, durationS: optionalDuration(p.durationS), reason: p.reason, rule: 'manual' } }
        : { kind: 'unblock', ip: p.ip };
    }
    if (isAlert(p)) return alertAction(p, msg.durationS);
    throw new Error("expected an Alert, a { ip, action: 'block'|'unblock' } command, or msg.topic 'block'/'unblock'/'list'/'clear'");
  });
}
