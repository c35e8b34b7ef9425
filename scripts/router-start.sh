#!/usr/bin/env bash
# Turn this box into a Wi-Fi router for node-red-contrib-ips: access point
# (hostapd) on the LAN interface, DHCP and DNS (dnsmasq) on the LAN, IP
# forwarding, and NAT from the LAN to the WAN interface.
#
# Usage:
#   router-start.sh --lan wlan0 --wan eth0 --ssid NAME --passphrase SECRET
#                   [--channel 6] [--country GB] [--address 192.168.4.1/24]
#                   [--dhcp-range 192.168.4.50,192.168.4.150,12h]
#                   [--lease-file /var/lib/misc/dnsmasq.leases] [--no-dns]
#                   [--no-hostapd] [--state-dir /run/ips-router]
#   router-start.sh --print-hostapd-conf --lan wlan0 --ssid NAME --passphrase SECRET [--channel N] [--country CC]
#
# Idempotent: running it again adds only what is missing. Everything it
# changes is recorded in the state directory so router-stop.sh can undo
# exactly that (previous ip_forward, the address it added, the firewall
# rules it added — tagged with the comment 'ips-router' — and the daemons
# it started). --no-hostapd leaves out the access point (a wired LAN, or
# tests with veth pairs). Needs root.
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true

HERE=$(cd "$(dirname "$0")" && pwd)
TEMPLATE=$HERE/templates/hostapd.conf.in
LAN="" WAN="" SSID="" PASSPHRASE="" CHANNEL=6 COUNTRY=GB ADDRESS=192.168.4.1/24 DHCP_RANGE=""
LEASE_FILE=/var/lib/misc/dnsmasq.leases STATE_DIR=/run/ips-router
HOSTAPD=1 DNS=1 PRINT_CONF=0
TAG=ips-router

die() { echo "$(basename "$0"): $*" >&2; exit 2; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --lan|--wan|--ssid|--passphrase|--channel|--country|--address|--dhcp-range|--lease-file|--state-dir)
      [ $# -ge 2 ] || die "$1 needs a value"
      case "$1" in
        --lan) LAN=$2 ;; --wan) WAN=$2 ;; --ssid) SSID=$2 ;; --passphrase) PASSPHRASE=$2 ;;
        --channel) CHANNEL=$2 ;; --country) COUNTRY=$2 ;; --address) ADDRESS=$2 ;;
        --dhcp-range) DHCP_RANGE=$2 ;; --lease-file) LEASE_FILE=$2 ;; --state-dir) STATE_DIR=$2 ;;
      esac
      shift 2 ;;
    --no-hostapd) HOSTAPD=0; shift ;;
    --no-dns) DNS=0; shift ;;
    --print-hostapd-conf) PRINT_CONF=1; shift ;;
    -h|--help) usage ;;
    *) die "unknown argument '$1' (try --help)" ;;
  esac
done

valid_ifname() { [[ "$1" =~ ^[A-Za-z0-9_.:-]{1,15}$ ]]; }

# --- validation (before anything changes) ---
valid_ifname "$LAN" || die "--lan must be an interface name (1-15 of A-Z a-z 0-9 _ . : -), got '$LAN'"
if [ "$HOSTAPD" = 1 ] || [ "$PRINT_CONF" = 1 ]; then
  [ -n "$SSID" ] || die "--ssid is required (or --no-hostapd)"
  [ "$(printf '%s' "$SSID" | wc -c)" -le 32 ] || die "--ssid must be at most 32 bytes"
  [[ "$SSID" != *[[:cntrl:]]* ]] || die "--ssid must not contain control characters"
  [[ "$PASSPHRASE" =~ ^[\ -~]{8,63}$ ]] || die "--passphrase must be 8-63 printable ASCII characters (WPA2)"
  [[ "$CHANNEL" =~ ^[0-9]{1,3}$ ]] || die "--channel must be a number, got '$CHANNEL'"
  CHANNEL=$((10#$CHANNEL))
  if [ "$CHANNEL" -ge 1 ] && [ "$CHANNEL" -le 14 ]; then HW_MODE=g
  elif [ "$CHANNEL" -ge 36 ] && [ "$CHANNEL" -le 177 ]; then HW_MODE=a
  else die "--channel must be 1-14 (2.4 GHz) or 36-177 (5 GHz), got '$CHANNEL'"; fi
  [[ "$COUNTRY" =~ ^[A-Z]{2}$ ]] || die "--country must be a two-letter ISO code such as GB, got '$COUNTRY'"
fi

hostapd_conf() {
  local line
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line//@INTERFACE@/"$LAN"}
    line=${line//@SSID@/"$SSID"}
    line=${line//@PASSPHRASE@/"$PASSPHRASE"}
    line=${line//@CHANNEL@/"$CHANNEL"}
    line=${line//@HW_MODE@/"$HW_MODE"}
    line=${line//@COUNTRY@/"$COUNTRY"}
    printf '%s\n' "$line"
  done < "$TEMPLATE"
}

if [ "$PRINT_CONF" = 1 ]; then
  hostapd_conf
  exit 0
fi

valid_ifname "$WAN" || die "--wan must be an interface name, got '$WAN'"
[ "$LAN" != "$WAN" ] || die "--lan and --wan must differ"
[[ "$ADDRESS" =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})/([0-9]{1,2})$ ]] || die "--address must be IPv4/prefix such as 192.168.4.1/24, got '$ADDRESS'"
for i in 1 2 3 4; do [ "${BASH_REMATCH[$i]}" -le 255 ] || die "--address: octet ${BASH_REMATCH[$i]} out of range"; done
PREFIX=${BASH_REMATCH[5]}
[ "$PREFIX" -ge 8 ] && [ "$PREFIX" -le 30 ] || die "--address prefix must be 8-30, got /$PREFIX"
NET3="${BASH_REMATCH[1]}.${BASH_REMATCH[2]}.${BASH_REMATCH[3]}"
if [ -z "$DHCP_RANGE" ]; then DHCP_RANGE="$NET3.50,$NET3.150,12h"; fi
[[ "$DHCP_RANGE" =~ ^[0-9.]+,[0-9.]+(,[0-9.]+)?(,[0-9]+[smhd]?|,infinite)?$ ]] || die "--dhcp-range must look like 192.168.4.50,192.168.4.150,12h, got '$DHCP_RANGE'"
[[ "$LEASE_FILE" = /* ]] || die "--lease-file must be an absolute path"
[[ "$STATE_DIR" = /* ]] || die "--state-dir must be an absolute path"
[ "$(id -u)" = 0 ] || die "needs root (or CAP_NET_ADMIN with sysctl and daemon rights)"
ip link show dev "$LAN" >/dev/null 2>&1 || die "LAN interface '$LAN' does not exist"
ip link show dev "$WAN" >/dev/null 2>&1 || die "WAN interface '$WAN' does not exist"
command -v dnsmasq >/dev/null || die "dnsmasq not found: apt-get install dnsmasq-base"
[ "$HOSTAPD" = 0 ] || command -v hostapd >/dev/null || die "hostapd not found: apt-get install hostapd (or --no-hostapd)"

mkdir -p "$STATE_DIR"
STATE=$STATE_DIR/state
touch "$STATE"
# state: key=value lines, first writer wins (a second start keeps the original "before" values)
state_get() { sed -n "s/^$1=//p" "$STATE" | head -n1; }
state_set() { grep -q "^$1=" "$STATE" || printf '%s=%s\n' "$1" "$2" >> "$STATE"; }

state_set lan "$LAN"
state_set wan "$WAN"

# --- forwarding ---
state_set ip_forward "$(cat /proc/sys/net/ipv4/ip_forward)"
sysctl -q -w net.ipv4.ip_forward=1

# --- LAN address ---
ip link set dev "$LAN" up
if ! ip -4 -o addr show dev "$LAN" | grep -q " inet $ADDRESS "; then
  ip addr add "$ADDRESS" dev "$LAN"
  state_set address "$ADDRESS"
fi

# --- NAT and forwarding rules, each tagged and added once ---
rule() { # table chain spec...
  local table=$1 chain=$2; shift 2
  if ! iptables -w -t "$table" -C "$chain" "$@" -m comment --comment "$TAG" 2>/dev/null; then
    iptables -w -t "$table" -A "$chain" "$@" -m comment --comment "$TAG"
  fi
}
rule nat POSTROUTING -o "$WAN" -j MASQUERADE
rule filter FORWARD -i "$LAN" -o "$WAN" -j ACCEPT
rule filter FORWARD -i "$WAN" -o "$LAN" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT

# --- daemons ---
running() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

cat > "$STATE_DIR/dnsmasq.conf" <<CONF
# Generated by router-start.sh
interface=$LAN
bind-interfaces
except-interface=lo
dhcp-range=$DHCP_RANGE
dhcp-option=option:router,${ADDRESS%/*}
dhcp-leasefile=$LEASE_FILE
dhcp-authoritative
CONF
if [ "$DNS" = 0 ]; then echo "port=0" >> "$STATE_DIR/dnsmasq.conf"; else echo "dhcp-option=option:dns-server,${ADDRESS%/*}" >> "$STATE_DIR/dnsmasq.conf"; fi
if ! running "$STATE_DIR/dnsmasq.pid"; then
  mkdir -p "$(dirname "$LEASE_FILE")"
  dnsmasq --conf-file="$STATE_DIR/dnsmasq.conf" --pid-file="$STATE_DIR/dnsmasq.pid"
fi

if [ "$HOSTAPD" = 1 ]; then
  hostapd_conf > "$STATE_DIR/hostapd.conf"
  chmod 600 "$STATE_DIR/hostapd.conf"
  if ! running "$STATE_DIR/hostapd.pid"; then
    hostapd -B -P "$STATE_DIR/hostapd.pid" "$STATE_DIR/hostapd.conf"
  fi
fi

echo "router up: LAN $LAN ($ADDRESS, DHCP $DHCP_RANGE) -> NAT -> WAN $WAN; state in $STATE_DIR"
