import type { NodeAPI } from 'node-red';
import { FloodDetector } from '../../lib/detect/flood';
import { registerDetectorNode } from '../common/detector-node';

export = function (RED: NodeAPI): void {
  registerDetectorNode(RED, 'flood-detect', (settings, kit) => new FloodDetector(kit.name, settings as unknown as Record<string, unknown>));
};
