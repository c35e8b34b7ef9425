/**
 * The connection to the MQTT broker both fleet nodes share: the mqtt.js
 * options their broker settings (settings.ts) give, and the topic tree. MQTT 5 with a persistent session (clean start
 * off, a session expiry), so the broker keeps a subscriber's QoS 1 messages
 * while it is away; username/password (the password from Node-RED's
 * credentials, never the flow file) and TLS (mqtts://, a CA file for a
 * private CA, a client certificate and key when the broker asks for one).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { IClientOptions } from 'mqtt';
import type { BrokerSettings } from './settings';

function readPem(file: string, baseDir: string, what: string): Buffer | undefined {
  if (!file) return undefined;
  const full = path.resolve(baseDir, file);
  try {
    return fs.readFileSync(full);
  } catch (err) {
    throw new Error(`${what} ${full}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** mqtt.js options for `clientId`; throws naming a TLS file that cannot be read. */
export function clientOptions(s: BrokerSettings, clientId: string, password: string | undefined, baseDir: string): IClientOptions {
  const opts: IClientOptions = {
    clientId,
    protocolVersion: 5,
    clean: false,
    properties: { sessionExpiryInterval: s.sessionExpiryS },
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    keepalive: 30,
    resubscribe: true,
  };
  if (s.username) opts.username = s.username;
  if (password) opts.password = password;
  const ca = readPem(s.ca, baseDir, 'CA file');
  const cert = readPem(s.cert, baseDir, 'client certificate');
  const key = readPem(s.key, baseDir, 'client key');
  if (ca) opts.ca = ca;
  if (cert) opts.cert = cert;
  if (key) opts.key = key;
  opts.rejectUnauthorized = s.rejectUnauthorized;
  return opts;
}

/** The topic tree: everything of one sensor under ips/<sensor>/, decisions shared under ips/decisions/. */
export const TOPICS = {
  root: 'ips',
  of: (sensor: string, kind: SensorTopic): string => `ips/${sensor}/${kind}`,
  decision: (key: string): string => `ips/decisions/${key}`,
  decisions: 'ips/decisions/#',
  everySensor: 'ips/+/+',
} as const;

/** What a sensor publishes: our JSON for the central, EVE lines for EVE tools, its status (online/offline, retained). */
export const SENSOR_TOPICS = ['alerts', 'devices', 'flows', 'blocklist', 'health', 'status', 'eve'] as const;
export type SensorTopic = (typeof SENSOR_TOPICS)[number];
