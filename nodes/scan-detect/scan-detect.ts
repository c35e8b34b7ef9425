import type { NodeAPI } from 'node-red';
import { ScanDetector } from '../../lib/detect/scan';
import { registerDetectorNode } from '../common/detector-node';

export = function (RED: NodeAPI): void {
  registerDetectorNode(RED, 'scan-detect', (settings, kit) => new ScanDetector(kit.name, settings as unknown as Record<string, unknown>));
};
