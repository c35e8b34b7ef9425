#!/usr/bin/env bash
# Regenerates examples/captures/demo.pcap: the small capture `npm start` and
# the pcap-in tests read. Real traffic from real tools between two network
# namespaces made here (private addresses, removed on exit): a host browsing
# and pinging normally, then an attacker scanning (nmap), flooding (hping3)
# and sending attack payloads (curl), so the analyst flow has alerts to show.
# Needs root, iproute2, tcpdump, ping, curl, nmap, hping3 and node.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-examples/captures/demo.pcap}"

for tool in ip tcpdump ping curl nmap hping3 node; do
  command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }

tag="$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
srv="ips-demo-srv-$tag"; atk="ips-demo-atk-$tag"
tmp="$(mktemp -d)"
cleanup() {
  [ -n "${web_pid:-}" ] && kill "$web_pid" 2>/dev/null || true
  [ -n "${dump_pid:-}" ] && kill "$dump_pid" 2>/dev/null || true
  ip netns del "$srv" 2>/dev/null || true
  ip netns del "$atk" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

ip netns add "$srv"; ip netns add "$atk"
ip link add "d${tag}s" netns "$srv" type veth peer name "d${tag}a" netns "$atk"
ip -n "$srv" link set lo up; ip -n "$atk" link set lo up
ip -n "$srv" link set "d${tag}s" address 02:00:5e:10:00:01
ip -n "$atk" link set "d${tag}a" address 02:00:5e:10:00:66
ip -n "$srv" addr add 10.77.0.1/24 dev "d${tag}s"
ip -n "$atk" addr add 10.77.0.66/24 dev "d${tag}a"
ip -n "$srv" link set "d${tag}s" up; ip -n "$atk" link set "d${tag}a" up

# A small web server in the server namespace.
ip netns exec "$srv" node -e "require('http').createServer((q, s) => s.end('hello ' + q.url.length + '\n')).listen(80, '10.77.0.1')" &
web_pid=$!

ip netns exec "$srv" tcpdump -i "d${tag}s" -U -n -s 262144 -w "$tmp/demo.pcap" 2>"$tmp/tcpdump.log" &
dump_pid=$!
for _ in $(seq 50); do grep -q listening "$tmp/tcpdump.log" 2>/dev/null && break; sleep 0.1; done
for _ in $(seq 50); do ip netns exec "$atk" curl -s -o /dev/null --max-time 1 http://10.77.0.1/ && break; sleep 0.1; done

in_atk() { ip netns exec "$atk" "$@"; }
# Normal use.
in_atk ping -c 4 -i 0.2 10.77.0.1 >/dev/null
in_atk curl -s -o /dev/null http://10.77.0.1/index.html
# Attack payloads.
in_atk curl -s -o /dev/null "http://10.77.0.1/search?q=1%27%20OR%20%271%27=%271"
in_atk curl -s -o /dev/null "http://10.77.0.1/search?q=1'+UNION+SELECT+username,password+FROM+users--"
in_atk curl -s -o /dev/null "http://10.77.0.1/comment?text=<script>alert(1)</script>"
in_atk curl -s -o /dev/null --path-as-is "http://10.77.0.1/../../../../etc/passwd"
in_atk curl -s -o /dev/null "http://10.77.0.1/ping?host=127.0.0.1;cat%20/etc/passwd"
# A port scan, odd TCP flags, then SYN, ICMP and UDP floods (short and bounded).
in_atk nmap -n -Pn -sS -T4 --max-retries 0 -p 1-300 10.77.0.1 >/dev/null
in_atk nmap -n -Pn -sX -T4 --max-retries 0 -p 20-30 10.77.0.1 >/dev/null
in_atk hping3 -q -S -p 80 -c 400 -i u2000 10.77.0.1 >/dev/null 2>&1 || true
in_atk hping3 -q -1 -c 300 -i u2000 10.77.0.1 >/dev/null 2>&1 || true
in_atk hping3 -q -2 -p 53 -c 300 -i u2000 10.77.0.1 >/dev/null 2>&1 || true
in_atk ping -c 2 -i 0.2 10.77.0.1 >/dev/null
sleep 0.5

kill -INT "$dump_pid"; wait "$dump_pid" 2>/dev/null || true; dump_pid=
mkdir -p "$(dirname "$out")"
cp "$tmp/demo.pcap" "$out"
echo "wrote $out: $(tcpdump -r "$out" -n 2>/dev/null | wc -l) packets, $(stat -c %s "$out") bytes"
