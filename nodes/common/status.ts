import type { Node } from 'node-red';

/** Node status in one vocabulary across the pack: green = working, yellow = idle/attention, red = error, grey = stopped. */
export const status = {
  ok(node: Node, text: string): void {
    node.status({ fill: 'green', shape: 'dot', text });
  },
  active(node: Node, text: string): void {
    node.status({ fill: 'blue', shape: 'dot', text });
  },
  warn(node: Node, text: string): void {
    node.status({ fill: 'yellow', shape: 'ring', text });
  },
  error(node: Node, text: string): void {
    node.status({ fill: 'red', shape: 'ring', text });
  },
  idle(node: Node, text: string): void {
    node.status({ fill: 'grey', shape: 'ring', text });
  },
  clear(node: Node): void {
    node.status({});
  },
};

/** Short error text for a status line (Node-RED truncates long ones). */
export function shortError(err: unknown, max = 60): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
