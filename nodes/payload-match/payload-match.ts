/**
 * payload-match: signature rules on packet payloads (SQL injection, XSS,
 * path traversal, command injection, Log4Shell, user rules). Packets pass
 * through on output 1 in the form received; alerts go out on output 2.
 */
import type { NodeAPI } from 'node-red';
import { PayloadDetector } from '../../lib/detect/payload/detector';
import { registerDetectorNode } from '../common/detector-node';

export = function (RED: NodeAPI): void {
  registerDetectorNode(RED, 'payload-match', (settings, kit) => new PayloadDetector(kit.name, settings as unknown as Record<string, unknown>, kit.userDir));
};
