/**
 * payload-match: signature rules on packet payloads (SQL injection, XSS,
 * path traversal, command injection, Log4Shell, user rules). Packets pass
 * through on output 1 in the form received; alerts go out on output 2.
 */
import type { NodeAPI, NodeDef } from 'node-red';
import { PayloadDetector } from '../../lib/detect/payload/detector';
import { registerDetectorNode } from '../common/detector-node';

interface PayloadMatchConfig extends NodeDef {
  includeDefaults: boolean;
  rules: string;
  rulesFile: string;
  action: string;
  allowlist: string;
  cooldownS: string;
  maxTracked: string;
}

export = function (RED: NodeAPI): void {
  registerDetectorNode<PayloadMatchConfig>(RED, 'payload-match', (config, name) =>
    new PayloadDetector(name, {
      includeDefaults: config.includeDefaults !== false,
      rules: config.rules ?? '',
      rulesFile: config.rulesFile ?? '',
      action: config.action,
      allowlist: config.allowlist,
      cooldownS: config.cooldownS,
      maxTracked: config.maxTracked,
    }, RED.settings.userDir ?? process.cwd()));
};
