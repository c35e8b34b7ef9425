import type { NodeAPI, NodeDef } from 'node-red';
import { ScanDetector } from '../../lib/detect/scan';
import { registerDetectorNode } from '../common/detector-node';

/** Editor fields (strings from the editor; validated by the engine's schema). */
interface ScanDetectConfig extends NodeDef {
  action: string;
  allowlist: string;
  cooldownS: string;
  maxTracked: string;
  windowS: string;
  verticalPorts: string;
  horizontalHosts: string;
  oddFlags: boolean;
  bruteForcePorts: string;
  bruteForceAttempts: string;
  failures: string;
}

export = function (RED: NodeAPI): void {
  registerDetectorNode<ScanDetectConfig>(RED, 'scan-detect', (config, name) => new ScanDetector(name, config as unknown as Record<string, unknown>));
};
