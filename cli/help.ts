/** `ips --help`: the commands, options, output and exit status, and every detector setting from its schema. */
import { acceptedText, defaultText, type FieldSpec } from '../lib/base/settings';
import { ANALYST_CHAIN } from '../lib/detect/chain';
import { MAX_REPLAY_SPEED } from '../lib/capture/file-source';

function settingsHelp(): string {
  const lines: string[] = [];
  for (const stage of ANALYST_CHAIN) {
    lines.push(`  ${stage.type}`);
    const fields = Object.entries(stage.schema) as [string, FieldSpec][];
    const keyWidth = Math.max(...fields.map(([k]) => k.length));
    for (const [key, spec] of fields) {
      lines.push(`    ${key.padEnd(keyWidth)}  ${spec.label}, default ${defaultText(spec)}${spec.unit ? ` ${spec.unit}` : ''}; ${acceptedText(spec)}`);
      lines.push(`    ${' '.repeat(keyWidth)}  ${spec.help}`);
    }
  }
  return lines.join('\n');
}

export function helpText(): string {
  return `Usage:
  ips analyze FILE... [--config SETTINGS.json] [--rules RULES] [--format table|jsonl|csv|eve]
  ips replay FILE [--speed N] [--config SETTINGS.json] [--rules RULES] [--format table|jsonl|csv|eve]
  ips flows FILE... [--label NAME] [--config SETTINGS.json] > flows.csv
  ips --help

Reads pcap or pcapng captures through the detectors of the shipped analyst
flow, ${ANALYST_CHAIN.map((s) => s.type).join(' -> ')}, with the nodes' settings
and defaults, and prints the alerts they raise. No Node-RED is needed.

Commands:
  analyze FILE...  Read each capture as fast as it can be read. Each file is an
                   analysis of its own, as when the analyst flow reads a file:
                   the detectors start every file with empty rate windows and
                   cooldowns (the settings stay), so no alert mixes packets of
                   two captures. To analyse several files as one capture,
                   merge them first (mergecap -w all.pcapng a.pcap b.pcap).
  replay FILE      Play one capture at its own pace (the gaps between packets
                   as captured, divided by --speed) and print each alert as it
                   is raised. Ctrl-C stops it after the packets read so far.
  flows FILE...    Meter each capture into bidirectional flows as the
                   flow-meter node does (same engine, same settings under
                   "flow-meter" in --config) and write one CSV row per flow:
                   a header row, the flow's identity, why it ended, then
                   CICFlowMeter's features under CICFlowMeter's names
                   (docs/flow-features.md). Flows still open at the end of a
                   file are ended there (reason "flush").

Options:
  --config FILE    Detector settings: a JSON object keyed by node type, e.g.
                   {"flood-detect": {"synSrc": 50}, "scan-detect": {"allowlist": "10.0.0.0/8"}}.
                   Keys and values as in the nodes' editor and config messages,
                   checked the same way (see Settings below); a key not given
                   keeps its default. A bad key or value stops ips (status 2).
  --rules FILE     A payload-match rules file, as for the node's rulesFile:
                   JSON rules, or Snort/Suricata rule language (a .rules
                   file, or any file not starting with [ or {). Used with
                   the shipped rules; overrides a rulesFile in --config. For
                   your rules only, add {"payload-match": {"includeDefaults":
                   false}} to --config. stderr says "payload-match: loaded N
                   of M rules" and why any rule was skipped.
  --format F       table  aligned columns for reading (the default)
                   jsonl  one alert per line: the Alert the nodes send, plus
                          "file", the capture it came from
                   csv    a header line, then one alert per line: file and
                          every Alert field (ts in ms since 1970)
                   eve    Suricata EVE JSON: one "alert" record per line
                          (pcap_filename the capture), for EveBox, Filebeat,
                          Wazuh or Splunk; mapping in docs/eve.md
  --label NAME     flows only: add a "Label" column with NAME on every row
                   (training data: one capture per class).
  --speed N        replay only: play N times as fast as captured (default 1,
                   at most ${MAX_REPLAY_SPEED}).
  -h, --help       This help.

Output:
  Alerts go to standard output. After each file, standard error gets
  "FILE: P packets, A alerts, S s" (S: seconds taken), preceded by
  "ips: FILE: REASON" when the file could not be read to its end.
  Relative file names (captures, --config, --rules) start from the current
  directory.

Exit status:
  0    every file was read to its end
  1    a file could not be read (missing, not a capture, truncated or corrupt):
       its error names the file and the byte offset; the alerts of the packets
       before that point are printed, and the other files are still analysed
  2    bad arguments, --config or --rules (no file is read)
  70   an internal error of ips (please report it)
  130  replay stopped with Ctrl-C (the alerts until then are printed)

Settings (--config), by node type. What the nodes take relative to the
Node-RED user directory (rulesFile) is taken relative to the current
directory here.
${settingsHelp()}
`;
}
