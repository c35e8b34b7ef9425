import type { Node } from 'node-red';

/** Status colours in one vocabulary across the pack: green = working, blue = reading, yellow = attention, red = error, grey = idle or stopped. */
export type StatusFill = 'green' | 'blue' | 'yellow' | 'red' | 'grey';

/** A status line: colour and text. */
export interface StatusLine {
  fill: StatusFill;
  text: string;
}

/** Show `line` on the node: a dot while working, a ring otherwise; null clears the status. */
export function showStatus(node: Node, line: StatusLine | null): void {
  if (line === null) node.status({});
  else node.status({ fill: line.fill, shape: line.fill === 'green' || line.fill === 'blue' ? 'dot' : 'ring', text: line.text });
}

/** Short error text for a status line (Node-RED truncates long ones). */
export function shortError(err: unknown, max = 60): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
