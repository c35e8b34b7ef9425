import type { NodeAPI, NodeDef } from 'node-red';
import { FloodDetector } from '../../lib/detect/flood';
import { registerDetectorNode } from '../common/detector-node';

/** Editor fields (strings from the editor; validated by the engine's schema). */
interface FloodDetectConfig extends NodeDef {
  action: string;
  allowlist: string;
  cooldownS: string;
  maxTracked: string;
  windowMs: string;
  icmpSrc: string;
  icmpDst: string;
  synSrc: string;
  synDst: string;
  udpSrc: string;
  udpDst: string;
}

export = function (RED: NodeAPI): void {
  registerDetectorNode<FloodDetectConfig>(RED, 'flood-detect', (config, name) => new FloodDetector(name, config as unknown as Record<string, unknown>));
};
