/** Linux interface names as this pack accepts them: at most 15 characters, no shell or path characters. */
export const IFNAME = /^[A-Za-z0-9_.:-]{1,15}$/;

/** Throws with the reason when `name` is not an acceptable interface name. */
export function assertInterfaceName(name: string): void {
  if (!IFNAME.test(name)) throw new Error(`invalid interface name '${name}'`);
}
