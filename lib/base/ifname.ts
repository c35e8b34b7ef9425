import type { FieldSpec } from './settings';

/** Linux interface names as this pack accepts them: at most 15 characters, no shell or path characters. */
const IFNAME_SOURCE = '[A-Za-z0-9_.:-]{1,15}';
export const IFNAME = new RegExp(`^${IFNAME_SOURCE}$`);

/** Throws with the reason when `name` is not an acceptable interface name. */
export function assertInterfaceName(name: string): void {
  if (!IFNAME.test(name)) throw new Error(`invalid interface name '${name}'`);
}

/** A settings field holding an interface name (blank = none), checked as assertInterfaceName checks it. */
export function interfaceField(label: string, help: string): FieldSpec & { type: 'string' } {
  return { type: 'string', maxLength: 15, pattern: IFNAME_SOURCE, patternError: 'is an invalid interface name (letters, digits, _ . : -; at most 15)', default: '', label, help };
}
