import type { NodeAPI } from 'node-red';
import { ScanDetector, scanSchema } from '../../lib/detect/scan';
import { registerDetectorNode } from '../common/detector-node';

export = function (RED: NodeAPI): void {
  registerDetectorNode(RED, 'scan-detect', scanSchema, (settings, kit) => new ScanDetector(kit.name, settings as unknown as Record<string, unknown>));
};
