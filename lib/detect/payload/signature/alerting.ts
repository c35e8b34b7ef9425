/**
 * Alerts of rule-language rules: the catalog entry of a Signature (rule id
 * `sig:<gid>:<sid>`, its sid, msg, category and severity from its classtype
 * and priority; it tracks the sender of the matching unit, its offender, as
 * the other payload rules) and the per-hit fields (gid, rev, classtype,
 * references, reason, evidence).
 */
import type { Packet } from '../../../packet/types';
import type { RuleInfo } from '../../alerts';
import { packetFields } from '../../alerts';
import type { HitFields } from '../../detector';
import { endpoint, hexExcerpt, printable } from '../evidence';
import type { SignatureHit } from './engine';
import type { Signature } from './parse';

const infos = new WeakMap<Signature, RuleInfo>();

export function signatureInfo(sig: Signature): RuleInfo {
  let info = infos.get(sig);
  if (info === undefined) {
    info = { rule: `sig:${sig.gid}:${sig.sid}`, sid: sig.sid, signature: sig.msg, category: sig.category, severity: sig.severity, tracks: 'src' };
    infos.set(sig, info);
  }
  return info;
}

export function describeSignatureHit(hit: SignatureHit, p: Packet): HitFields {
  const sig = hit.sig;
  const where = hit.buffer === null ? '' : ` in ${hit.buffer === 'payload' ? 'the payload' : hit.buffer}`;
  const matched = hit.bytes === null ? '' : Buffer.from(hit.bytes.buffer, hit.bytes.byteOffset + hit.start, hit.end - hit.start).toString('latin1');
  const cls = sig.classtype === undefined ? `priority ${sig.priority}` : `${sig.classtype}, priority ${sig.priority}`;
  const t = sig.threshold;
  const reason = `${p.proto} from ${endpoint(p.src, p.sport)} to ${endpoint(p.dst, p.dport)} matched rule ${sig.gid}:${sig.sid}:${sig.rev} "${sig.msg}" (${cls})${
    matched === '' ? '' : `${where}: "${printable(matched, 60)}"`}${t === null ? '' : ` (${t.type === 'detection_filter' ? 'detection_filter' : `threshold ${t.type}`} ${t.track} count ${t.count} in ${t.seconds} s)`}`;
  const fields: HitFields = {
    ...packetFields(p),
    windowMs: t === null ? 0 : t.seconds * 1000,
    threshold: t === null ? 1 : t.count,
    reason,
    gid: sig.gid,
    rev: sig.rev,
    references: sig.references,
  };
  if (sig.classtype !== undefined) fields.classtype = sig.classtype;
  if (hit.bytes !== null) fields.evidence = `matched "${printable(matched)}"${where} at bytes ${hit.start}-${hit.end} of ${hit.bytes.length}\n${hexExcerpt(hit.bytes, hit.start, hit.end)}`;
  return fields;
}
