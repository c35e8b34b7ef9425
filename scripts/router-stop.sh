#!/usr/bin/env bash
# Undo router-start.sh: stop the daemons it started, delete the firewall
# rules it added (comment 'ips-router'), remove the LAN address it added and
# put ip_forward back to what it was. Safe to run twice.
#
# Usage: router-stop.sh [--state-dir /run/ips-router]
set -euo pipefail

STATE_DIR=/run/ips-router
TAG=ips-router
die() { echo "$(basename "$0"): $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --state-dir) [ $# -ge 2 ] || die "$1 needs a value"; STATE_DIR=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2; exit 2 ;;
    *) die "unknown argument '$1' (try --help)" ;;
  esac
done
[[ "$STATE_DIR" = /* ]] || die "--state-dir must be an absolute path"
STATE=$STATE_DIR/state
if [ ! -f "$STATE" ]; then
  echo "router not started by router-start.sh (no $STATE): nothing to undo"
  exit 0
fi
state_get() { sed -n "s/^$1=//p" "$STATE" | head -n1; }

stop_pid() {
  local f=$1 pid
  [ -s "$f" ] || return 0
  pid=$(cat "$f")
  if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$f"
}
stop_pid "$STATE_DIR/hostapd.pid"
stop_pid "$STATE_DIR/dnsmasq.pid"

# Delete every rule carrying our comment, in the tables we use.
for table in nat filter; do
  iptables -w -t "$table" -S | grep -- "--comment $TAG" | while IFS= read -r spec; do
    # spec is '-A CHAIN args...' as iptables prints it; words without quotes except the comment.
    read -r -a words <<< "${spec/-A /-D }"
    iptables -w -t "$table" "${words[@]}"
  done
done

LAN=$(state_get lan)
ADDRESS=$(state_get address)
if [ -n "$ADDRESS" ] && [ -n "$LAN" ] && ip link show dev "$LAN" >/dev/null 2>&1; then
  ip addr del "$ADDRESS" dev "$LAN" 2>/dev/null || true
fi
FWD=$(state_get ip_forward)
if [[ "$FWD" =~ ^[01]$ ]]; then sysctl -q -w "net.ipv4.ip_forward=$FWD"; fi

rm -f "$STATE_DIR/state" "$STATE_DIR/dnsmasq.conf" "$STATE_DIR/hostapd.conf"
rmdir "$STATE_DIR" 2>/dev/null || true
echo "router stopped; changes made by router-start.sh undone"
