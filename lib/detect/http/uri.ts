/**
 * The normalised form of a request URI, as Suricata's `http.uri`: the path
 * and the query percent- and '+'-decoded (each once; the matcher may decode
 * again for double encoding), and in the path `//` collapsed, `/./`
 * removed and `../` resolved (never above the root). The raw URI is split
 * at its first '?' before decoding, so an encoded %3F stays in the path.
 */
import { urlDecodeOnce } from '../payload/urldecode';

function decoded(part: Buffer): Buffer {
  return urlDecodeOnce(part)?.bytes ?? part;
}

/** Path segments resolved: '' and '.' dropped, '..' removes the previous one. */
function resolvePath(path: string): string {
  const segments = path.split('/');
  const out: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  const last = segments[segments.length - 1];
  const trailing = segments.length > 1 && (last === '' || last === '.' || last === '..') && out.length > 0;
  const lead = path.startsWith('/') ? '/' : '';
  return lead + out.join('/') + (trailing ? '/' : '');
}

export function normaliseUri(raw: Buffer): Buffer {
  const q = raw.indexOf(0x3f, 0);
  const path = decoded(q < 0 ? raw : raw.subarray(0, q)).toString('latin1');
  const resolved = path.includes('/.') || path.includes('//') ? resolvePath(path) : path;
  if (q < 0) return Buffer.from(resolved, 'latin1');
  return Buffer.concat([Buffer.from(`${resolved}?`, 'latin1'), decoded(raw.subarray(q + 1))]);
}
