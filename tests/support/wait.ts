/** Polling for a condition in tests. */

/** Poll `check` every `intervalMs` until it holds: true, or false once `timeoutMs` has passed. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Poll until `check` holds; throws "timed out waiting for <what>" after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000, intervalMs = 100): Promise<void> {
  if (!(await eventually(check, timeoutMs, intervalMs))) throw new Error(`timed out waiting for ${what}`);
}
