/**
 * The fleet nodes' settings, declared once and apart from their engines
 * (which load mqtt), so the node table every node loads pulls in no npm
 * package. brokerFields are shared by fleet-sensor and fleet-central.
 */
import type { FieldSpec, Schema } from '../base/settings';
import { SENSOR_NAME } from '../store/records';

export interface BrokerSettings {
  broker: string;
  username: string;
  ca: string;
  cert: string;
  key: string;
  rejectUnauthorized: boolean;
  sessionExpiryS: number;
}

type Fields<S> = { readonly [K in keyof S]: FieldSpec & { default: S[K] } };

/** The broker fields of both fleet nodes' schemas. */
export const brokerFields: Fields<BrokerSettings> = {
  broker: { type: 'string', maxLength: 2048, pattern: '(mqtts?|wss?)://[^\\s]+', patternError: 'is not an mqtt://, mqtts://, ws:// or wss:// URL', default: 'mqtt://localhost:1883', label: 'Broker', help: 'the MQTT broker: mqtt://host:1883, or mqtts://host:8883 for TLS' },
  username: { type: 'string', maxLength: 256, default: '', label: 'Username', help: "the broker login (the password is kept in Node-RED's credentials); blank = none" },
  ca: { type: 'string', maxLength: 4096, default: '', label: 'CA file', help: "TLS: the CA certificate (PEM) that signed the broker's, relative to the user directory; blank = the system's CAs" },
  cert: { type: 'string', maxLength: 4096, default: '', label: 'Client cert', help: 'TLS: a client certificate (PEM) when the broker asks for one; blank = none' },
  key: { type: 'string', maxLength: 4096, default: '', label: 'Client key', help: "TLS: the client certificate's key (PEM)" },
  rejectUnauthorized: { type: 'bool', default: true, label: 'Verify broker', help: "TLS: refuse a broker whose certificate does not verify (turn off only to test)" },
  sessionExpiryS: { type: 'int', min: 0, max: 4_294_967_295, default: 7 * 86_400, unit: 's', label: 'Session kept', help: 'how long the broker keeps this client\'s session and queued messages while it is away' },
};

export interface FleetSensorSettings extends BrokerSettings {
  sensor: string;
  file: string;
  queueMax: number;
  healthS: number;
  decisions: boolean;
  eve: boolean;
  iface: string;
}

export const fleetSensorSchema: Schema<FleetSensorSettings> = {
  sensor: { type: 'string', maxLength: 64, pattern: SENSOR_NAME.source.slice(1, -1), patternError: 'is not a sensor name (letters, digits, . _ -)', default: '', label: 'Sensor', help: "this sensor's name in the fleet and its topics (ips/<name>/…); blank = the host name" },
  ...brokerFields,
  file: { type: 'string', maxLength: 4096, default: 'ips-log.db', label: 'Queue file', help: 'the SQLite file that keeps undelivered messages (sqlite-log\'s file), relative to the user directory' },
  queueMax: { type: 'int', min: 100, max: 100_000_000, default: 100_000, unit: 'messages', label: 'Queue at most', help: 'undelivered messages kept while the broker is away; beyond it the oldest are dropped and counted' },
  healthS: { type: 'int', min: 1, max: 86_400, default: 30, unit: 's', label: 'Health every', help: 'how often the sensor reports its health' },
  decisions: { type: 'bool', default: true, label: 'Share decisions', help: 'publish this sensor\'s blocks as decisions and apply the fleet\'s (output 1 to iptables-block)' },
  eve: { type: 'bool', default: false, label: 'EVE too', help: 'also publish alerts, flows and health as Suricata EVE JSON on ips/<name>/eve, for EVE tools' },
  iface: { type: 'string', maxLength: 64, default: '', label: 'Interface', help: 'the interface this sensor watches, as EVE in_iface; blank = none' },
};

export interface FleetCentralSettings extends BrokerSettings {
  name: string;
  durationS: number;
}

export const fleetCentralSchema: Schema<FleetCentralSettings> = {
  name: { type: 'string', maxLength: 64, pattern: SENSOR_NAME.source.slice(1, -1), patternError: 'is not a name (letters, digits, . _ -)', default: 'central', label: 'Name', help: 'this central in client ids and as the origin of its decisions' },
  ...brokerFields,
  durationS: { type: 'int', min: 0, max: 2 ** 31 - 1, default: 3600, unit: 's', label: 'Block for', help: 'duration of a block decided on the central dashboard when the message gives none; 0 = permanent' },
};
