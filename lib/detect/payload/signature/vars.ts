/**
 * Rule variables: $HOME_NET, $EXTERNAL_NET and $HTTP_PORTS come from the
 * node's settings; the other names published rule sets use are given
 * Suricata's defaults (suricata.yaml `vars`), with every server group equal
 * to $HOME_NET, so such rule sets load without editing.
 */
import type { RuleVars } from './header';

export interface VarSettings {
  homeNet: readonly string[];
  externalNet: string;
  httpPorts: readonly number[];
}

const SERVER_GROUPS = ['HTTP_SERVERS', 'SMTP_SERVERS', 'SQL_SERVERS', 'DNS_SERVERS', 'TELNET_SERVERS', 'AIM_SERVERS', 'DC_SERVERS', 'DNP3_SERVER', 'DNP3_CLIENT', 'MODBUS_CLIENT', 'MODBUS_SERVER', 'ENIP_CLIENT', 'ENIP_SERVER'];

const PORT_GROUPS: Readonly<Record<string, string>> = {
  SHELLCODE_PORTS: '!80',
  ORACLE_PORTS: '1521',
  SSH_PORTS: '22',
  DNP3_PORTS: '20000',
  MODBUS_PORTS: '502',
  FILE_DATA_PORTS: '[$HTTP_PORTS,110,143]',
  FTP_PORTS: '21',
  GENEVE_PORTS: '6081',
  VXLAN_PORTS: '4789',
  TEREDO_PORTS: '3544',
};

export function ruleVars(s: VarSettings): RuleVars {
  const addresses: Record<string, string> = {
    HOME_NET: s.homeNet.length === 0 ? 'any' : `[${s.homeNet.join(',')}]`,
    EXTERNAL_NET: s.externalNet.trim() === '' ? 'any' : s.externalNet.trim(),
  };
  for (const g of SERVER_GROUPS) addresses[g] = '$HOME_NET';
  return { addresses, ports: { ...PORT_GROUPS, HTTP_PORTS: s.httpPorts.length === 0 ? 'any' : `[${s.httpPorts.join(',')}]` } };
}
