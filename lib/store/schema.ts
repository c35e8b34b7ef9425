/**
 * The database schema as a list of migrations. `PRAGMA user_version` holds
 * the number of migrations applied; opening a file runs the missing ones in
 * one transaction each, so an older database upgrades in place and keeps its
 * rows. Never edit a shipped migration: append a new one.
 */
import { exec, get, type Db } from './sqlite';

export const MIGRATIONS: readonly string[] = [
  // 1: first release — alerts, device samples, flows.
  `CREATE TABLE alerts (
     id INTEGER PRIMARY KEY, ts REAL NOT NULL, rule TEXT NOT NULL, sid INTEGER, signature TEXT,
     category TEXT, severity TEXT, action TEXT, src TEXT, dst TEXT, proto TEXT, sport INTEGER, dport INTEGER,
     count INTEGER, window_ms INTEGER, threshold REAL, reason TEXT, evidence TEXT, detector TEXT);
   CREATE INDEX alerts_ts ON alerts(ts);
   CREATE TABLE devices (
     id INTEGER PRIMARY KEY, ts REAL NOT NULL, ip TEXT NOT NULL, mac TEXT,
     rx_bytes INTEGER, tx_bytes INTEGER, rx_bps REAL, tx_bps REAL, flows INTEGER, last_seen REAL);
   CREATE INDEX devices_ip_ts ON devices(ip, ts);
   CREATE TABLE flows (
     id INTEGER PRIMARY KEY, ts REAL NOT NULL, proto TEXT, src TEXT, dst TEXT, sport INTEGER, dport INTEGER,
     orig_bytes INTEGER, orig_packets INTEGER, reply_bytes INTEGER, reply_packets INTEGER, state TEXT,
     start_ts REAL, end_ts REAL);
   CREATE INDEX flows_ts ON flows(ts);`,
  // 2: source MAC and logging time on alerts (age retention counts from when a
  // row was logged, so a replayed old capture is kept), vendor/hostname on
  // device samples, block history, indexes shaped by the dashboard queries.
  `ALTER TABLE alerts ADD COLUMN src_mac TEXT;
   ALTER TABLE alerts ADD COLUMN logged REAL;
   UPDATE alerts SET logged = ts;
   DROP INDEX alerts_ts;
   CREATE INDEX alerts_ts_category ON alerts(ts, category);
   CREATE INDEX alerts_rule_ts ON alerts(rule, ts);
   CREATE INDEX alerts_src_ts ON alerts(src, ts);
   CREATE INDEX alerts_severity_ts ON alerts(severity, ts);
   ALTER TABLE devices ADD COLUMN vendor TEXT;
   ALTER TABLE devices ADD COLUMN hostname TEXT;
   CREATE INDEX devices_ts_rate ON devices(ts, ip, rx_bps, tx_bps);
   CREATE INDEX flows_src_ts ON flows(src, ts);
   CREATE TABLE blocks (
     id INTEGER PRIMARY KEY, ts REAL NOT NULL, event TEXT NOT NULL, ip TEXT NOT NULL,
     since REAL, expires REAL, reason TEXT, rule TEXT);
   CREATE INDEX blocks_ts ON blocks(ts);
   CREATE INDEX blocks_ip_ts ON blocks(ip, ts);`,
  // 3: alert counts per minute and category, kept up to date by the writer,
  // so the per-minute chart reads ~1,440 rows a day instead of every alert.
  `CREATE TABLE alert_minutes (minute INTEGER NOT NULL, category TEXT NOT NULL, n INTEGER NOT NULL,
     PRIMARY KEY (minute, category)) WITHOUT ROWID;
   INSERT INTO alert_minutes (minute, category, n)
     SELECT CAST(ts / 60000 AS INTEGER), coalesce(category, 'unknown'), count(*) FROM alerts GROUP BY 1, 2;`,
  // 4: device rate sums per hour and address, kept up to date by the writer,
  // so top talkers over a day reads ~24 rows per device for the whole hours.
  `CREATE TABLE device_hours (hour INTEGER NOT NULL, ip TEXT NOT NULL, rx_sum REAL NOT NULL, tx_sum REAL NOT NULL,
     samples INTEGER NOT NULL, peak REAL NOT NULL, PRIMARY KEY (hour, ip)) WITHOUT ROWID;
   INSERT INTO device_hours (hour, ip, rx_sum, tx_sum, samples, peak)
     SELECT CAST(ts / 3600000 AS INTEGER), ip, coalesce(sum(rx_bps), 0), coalesce(sum(tx_bps), 0), count(*),
            coalesce(max(coalesce(rx_bps, 0) + coalesce(tx_bps, 0)), 0)
     FROM devices GROUP BY 1, 2;`,
  // 5: the address an alert names as safe to block (Alert.offender); older rows have none.
  `ALTER TABLE alerts ADD COLUMN offender TEXT;`,
  // 6: many sensors, one store. Each row names the sensor it came from (null: this box); an alert
  // with an id (given by the sensor) is stored once per id, however often MQTT redelivers it.
  // sensors: each sensor's last health report. outbox: what a sensor has not yet delivered to its broker. Its ids never go back
  // (AUTOINCREMENT): the sender resumes after the last id it handed over, even once the table was empty.
  `ALTER TABLE alerts ADD COLUMN sensor TEXT;
   ALTER TABLE alerts ADD COLUMN uid TEXT;
   CREATE UNIQUE INDEX alerts_uid ON alerts(uid) WHERE uid IS NOT NULL;
   CREATE INDEX alerts_sensor_ts ON alerts(sensor, ts);
   ALTER TABLE devices ADD COLUMN sensor TEXT;
   CREATE INDEX devices_sensor_ts ON devices(sensor, ts);
   ALTER TABLE flows ADD COLUMN sensor TEXT;
   ALTER TABLE blocks ADD COLUMN sensor TEXT;
   CREATE TABLE sensors (name TEXT PRIMARY KEY, last_seen REAL NOT NULL, health TEXT) WITHOUT ROWID;
   CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, payload TEXT NOT NULL, queued REAL NOT NULL);`,
  // 7: what ip-reputation and GeoIP add to an alert (Alert.list … asOrg): the list, its category, the entry that matched,
  // the direction, the LAN device with its MAC and vendor, and the country, AS number and AS organisation of the address.
  // Older rows have none (null).
  `ALTER TABLE alerts ADD COLUMN list TEXT;
   ALTER TABLE alerts ADD COLUMN list_category TEXT;
   ALTER TABLE alerts ADD COLUMN list_entry TEXT;
   ALTER TABLE alerts ADD COLUMN direction TEXT;
   ALTER TABLE alerts ADD COLUMN device TEXT;
   ALTER TABLE alerts ADD COLUMN device_mac TEXT;
   ALTER TABLE alerts ADD COLUMN device_vendor TEXT;
   ALTER TABLE alerts ADD COLUMN country TEXT;
   ALTER TABLE alerts ADD COLUMN asn INTEGER;
   ALTER TABLE alerts ADD COLUMN as_org TEXT;`,
  // 8: what rule-language rules and flow-classify add to an alert (Alert.gid, rev, classtype, references, mlClass,
  // probability). `refs` holds the references as a JSON array of strings as the rule wrote them ('url,example.org/x'):
  // each reference is itself 'type,value' with a comma, so a joined column would need an escaping of its own, where
  // JSON gives the list back exactly and SQLite reads it in place (json_each(refs)). The name is not `references`,
  // an SQL keyword every hand-written query would have to quote. Older rows have none (null).
  `ALTER TABLE alerts ADD COLUMN gid INTEGER;
   ALTER TABLE alerts ADD COLUMN rev INTEGER;
   ALTER TABLE alerts ADD COLUMN classtype TEXT;
   ALTER TABLE alerts ADD COLUMN refs TEXT;
   ALTER TABLE alerts ADD COLUMN ml_class TEXT;
   ALTER TABLE alerts ADD COLUMN probability REAL;`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export async function schemaVersion(db: Db): Promise<number> {
  const row = await get<{ user_version: number }>(db, 'PRAGMA user_version');
  return row?.user_version ?? 0;
}

/** Bring the database to SCHEMA_VERSION; returns the version it had before. */
export async function migrate(db: Db): Promise<number> {
  const before = await schemaVersion(db);
  for (;;) {
    // Read the version again under the write lock: another process may have migrated meanwhile.
    await exec(db, 'BEGIN IMMEDIATE');
    try {
      const v = await schemaVersion(db);
      if (v > SCHEMA_VERSION) {
        throw new Error(`database schema version ${v} is newer than this node understands (${SCHEMA_VERSION}); upgrade node-red-contrib-ips`);
      }
      if (v === SCHEMA_VERSION) {
        await exec(db, 'COMMIT');
        return before;
      }
      await exec(db, MIGRATIONS[v]);
      await exec(db, `PRAGMA user_version = ${v + 1}`);
      await exec(db, 'COMMIT');
    } catch (err) {
      await exec(db, 'ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
}
