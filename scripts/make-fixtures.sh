#!/usr/bin/env bash
# Regenerates the committed capture fixtures in tests/fixtures/ from real tools.
#
# Builds a lab of two network namespaces joined by a veth pair, captures with
# tcpdump while ping (IPv4 and IPv6, small and fragmented), curl against a
# python3 http.server and an nmap SYN scan run between them, then derives the
# other formats with editcap and mergecap:
#
#   lab-eth.pcap        tcpdump -w on the veth end in namespace A (Ethernet, µs, little-endian)
#   lab-eth-nsec.pcap   editcap -F nsecpcap of it (nanosecond magic)
#   lab-eth.pcapng      editcap -F pcapng of it
#   lab-any-sll.pcap    tcpdump -i any -y LINUX_SLL in namespace B
#   lab-any-sll2.pcap   tcpdump -i any -y LINUX_SLL2 in namespace B
#   lab-multi.pcapng    mergecap of the nanosecond Ethernet capture and the SLL2 one
#                       (two interfaces, two link types, two if_tsresol values)
#   lab-wlan.pcap, lab-radiotap.pcap, lab-ppi.pcap
#                       the Ethernet capture as a Wi-Fi card in monitor mode records
#                       it (802.11 bare, behind radiotap, behind PPI), by
#                       scripts/wifi-encap.js: no radio hardware here
#
# Big-endian files are made by the tests from these (no tool here writes
# them); see tests/lib/capture/byteswap.ts.
#
# Needs root, ip (iproute2), tcpdump, ping, curl, nmap, python3, editcap, mergecap, node.
# Usage: sudo scripts/make-fixtures.sh [output-dir]   (default tests/fixtures)
set -euo pipefail

OUT="${1:-$(cd "$(dirname "$0")/.." && pwd)/tests/fixtures}"
mkdir -p "$OUT"
for tool in ip tcpdump ping curl nmap python3 editcap mergecap node; do
  command -v "$tool" >/dev/null || { echo "make-fixtures: missing tool: $tool" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "make-fixtures: needs root (network namespaces)" >&2; exit 1; }

TAG="$(printf '%04x' $$ | tail -c 4)$(od -An -N1 -tx1 /dev/urandom | tr -d ' \n')"
NSA="ipsfx-a-$TAG"
NSB="ipsfx-b-$TAG"
VA="vfx${TAG}a"
VB="vfx${TAG}b"
A4=10.231.0.1
B4=10.231.0.2
A6=fd00:231::1
B6=fd00:231::2
WORK="$(mktemp -d)"
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  ip netns del "$NSA" 2>/dev/null || true
  ip netns del "$NSB" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM   # so a kill also runs the EXIT cleanup

ip netns add "$NSA"
ip netns add "$NSB"
ip link add "$VA" netns "$NSA" type veth peer name "$VB" netns "$NSB"
ip -n "$NSA" link set lo up
ip -n "$NSB" link set lo up
ip -n "$NSA" link set "$VA" address 02:00:00:00:31:0a
ip -n "$NSB" link set "$VB" address 02:00:00:00:31:0b
ip -n "$NSA" addr add "$A4/24" dev "$VA"
ip -n "$NSB" addr add "$B4/24" dev "$VB"
ip -n "$NSA" -6 addr add "$A6/64" dev "$VA" nodad
ip -n "$NSB" -6 addr add "$B6/64" dev "$VB" nodad
ip -n "$NSA" link set "$VA" up
ip -n "$NSB" link set "$VB" up

# -Z root: tcpdump would otherwise drop to its own user and fail to write here.
ip netns exec "$NSA" tcpdump -Z root -U -n -s 0 -i "$VA" -w "$WORK/eth.pcap" 2>"$WORK/tcpdump-eth.log" &
PIDS+=($!)
ip netns exec "$NSB" tcpdump -Z root -U -n -s 0 -i any -y LINUX_SLL -w "$WORK/sll.pcap" 2>"$WORK/tcpdump-sll.log" &
PIDS+=($!)
ip netns exec "$NSB" tcpdump -Z root -U -n -s 0 -i any -y LINUX_SLL2 -w "$WORK/sll2.pcap" 2>"$WORK/tcpdump-sll2.log" &
PIDS+=($!)
ip netns exec "$NSB" python3 -m http.server 8080 --bind "$B4" --directory "$WORK" >/dev/null 2>&1 &
PIDS+=($!)

# Wait until the three captures are listening and the server answers.
for _ in $(seq 50); do
  if grep -q listening "$WORK/tcpdump-eth.log" && grep -q listening "$WORK/tcpdump-sll.log" && grep -q listening "$WORK/tcpdump-sll2.log" \
     && ip netns exec "$NSB" bash -c "exec 3<>/dev/tcp/$B4/8080" 2>/dev/null; then break; fi
  sleep 0.2
done
echo "fixture page" >"$WORK/index.html"

ip netns exec "$NSA" ping -c 3 -i 0.2 "$B4" >/dev/null
ip netns exec "$NSA" ping -c 2 -i 0.2 -s 3000 "$B4" >/dev/null   # IPv4 fragments
ip netns exec "$NSA" ping -6 -c 3 -i 0.2 "$B6" >/dev/null
ip netns exec "$NSA" ping -6 -c 2 -i 0.2 -s 3000 "$B6" >/dev/null # IPv6 fragment headers
ip netns exec "$NSA" curl -s -o /dev/null "http://$B4:8080/index.html?q=fixture"
ip netns exec "$NSA" nmap -n -Pn -sS -p 20-100,8080 --max-retries 0 "$B4" >/dev/null
ip netns exec "$NSA" nmap -6 -n -Pn -sS -p 20-30,8080 --max-retries 0 "$B6" >/dev/null
sleep 1

# Stop the captures cleanly (SIGINT flushes and closes the file).
for pid in "${PIDS[@]:0:3}"; do kill -INT "$pid"; done
for pid in "${PIDS[@]:0:3}"; do wait "$pid" || true; done

cp "$WORK/eth.pcap" "$OUT/lab-eth.pcap"
cp "$WORK/sll.pcap" "$OUT/lab-any-sll.pcap"
cp "$WORK/sll2.pcap" "$OUT/lab-any-sll2.pcap"
editcap -F nsecpcap "$WORK/eth.pcap" "$OUT/lab-eth-nsec.pcap"
editcap -F pcapng "$WORK/eth.pcap" "$OUT/lab-eth.pcapng"
mergecap -F pcapng -w "$OUT/lab-multi.pcapng" "$OUT/lab-eth-nsec.pcap" "$WORK/sll2.pcap"
node "$(dirname "$0")/wifi-encap.js" "$OUT/lab-eth.pcap" "$OUT"

ls -l "$OUT"/lab-*
