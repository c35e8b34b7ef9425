/**
 * node-red-node-test-helper set up once for every test file that loads one
 * node (or a few) into a real Node-RED: typed access, initialised with this
 * clone's node-red, and the usual before/after hooks.
 */
import { before, after, afterEach } from 'node:test';

/** One recorded call of a helper spy (the helper wraps node methods with sinon). */
export interface SpyCall {
  thisValue: unknown;
  args: unknown[];
}

export interface Spy {
  getCalls(): SpyCall[];
}

/** The helper's module API; `N` is how a test file sees the nodes it loads. */
export interface NodeTestHelper<N> {
  init(red: unknown): void;
  load(node: unknown, flow: unknown[], cb: () => void): void;
  unload(): Promise<void>;
  getNode(id: string): N;
  stopServer(cb: () => void): void;
  startServer(cb: () => void): void;
  /** Runtime settings for the next load (merged with the defaults), e.g. `{ userDir }`. */
  settings(s: Record<string, unknown>): unknown;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const testHelper = require('node-red-node-test-helper') as NodeTestHelper<unknown>;
testHelper.init(require.resolve('node-red'));

/** The helper, with loaded nodes typed as `N`. */
export function nodeHelper<N>(): NodeTestHelper<N> {
  return testHelper as NodeTestHelper<N>;
}

export const startServer = (): Promise<void> => new Promise((resolve) => testHelper.startServer(resolve));
export const stopServer = (): Promise<void> => new Promise((resolve) => testHelper.stopServer(resolve));
export const unload = (): Promise<void> => testHelper.unload();
/** Load `nodeModule` (a node's built .js) with `flow`. */
export const load = (nodeModule: unknown, flow: unknown[]): Promise<void> => new Promise((resolve) => testHelper.load(nodeModule, flow, resolve));

/** One server for the whole file, flows unloaded after each test. */
export function useServerPerFile(): void {
  before(startServer);
  after(stopServer);
  afterEach(unload);
}

/** Flows unloaded and the server stopped after each test (the test starts it, e.g. via its load function). */
export function useServerPerTest(): void {
  afterEach(async () => {
    await unload();
    await stopServer();
  });
}
