/**
 * Per-detector allowlist of source networks (IPv4 and IPv6 CIDRs):
 * allowlisted sources never alert and are never dropped.
 */
import { CidrSet } from '../base/cidr';

export class Allowlist {
  private readonly set: CidrSet;

  /** Throws with the reason(s) when an entry is not a CIDR or address. */
  constructor(list: string | readonly string[] = []) {
    this.set = new CidrSet(list);
  }

  get size(): number {
    return this.set.size;
  }

  /** Canonical CIDR texts. */
  get entries(): string[] {
    return this.set.cidrs.map((c) => c.text);
  }

  has(ip: string): boolean {
    return this.set.has(ip);
  }
}
