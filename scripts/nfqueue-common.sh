# Shared by nfqueue-enable.sh and nfqueue-disable.sh (sourced, not run).
# Arguments are validated before any command runs; commands get them as
# separate words, never through eval.

NFQ_QUEUE=0
NFQ_BACKEND=iptables
NFQ_FAMILY=both
NFQ_BYPASS=1
NFQ_TABLE=mangle
NFQ_CHAINS=()
# Where enable remembers iptables tables/chains it had to create (iptables-nft),
# so disable can remove them again when they are empty.
NFQ_STATE_DIR=${NFQ_STATE_DIR:-/run/node-red-contrib-ips}

nfq_die() {
  echo "$(basename "$0"): $*" >&2
  exit 2
}

nfq_usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

nfq_parse_args() {
  local chains=""
  while [ $# -gt 0 ]; do
    case "$1" in
      -q|--queue) [ $# -ge 2 ] || nfq_die "$1 needs a value"; NFQ_QUEUE=$2; shift 2 ;;
      -c|--chains) [ $# -ge 2 ] || nfq_die "$1 needs a value"; chains=$2; shift 2 ;;
      -b|--backend) [ $# -ge 2 ] || nfq_die "$1 needs a value"; NFQ_BACKEND=$2; shift 2 ;;
      -f|--family) [ $# -ge 2 ] || nfq_die "$1 needs a value"; NFQ_FAMILY=$2; shift 2 ;;
      -t|--table) [ $# -ge 2 ] || nfq_die "$1 needs a value"; NFQ_TABLE=$2; shift 2 ;;
      --fail-closed) NFQ_BYPASS=0; shift ;;
      --bypass) NFQ_BYPASS=1; shift ;;
      -h|--help) nfq_usage ;;
      *) nfq_die "unknown argument '$1' (try --help)" ;;
    esac
  done
  if ! [[ "$NFQ_QUEUE" =~ ^[0-9]{1,5}$ ]] || [ "$((10#$NFQ_QUEUE))" -gt 65535 ]; then
    nfq_die "queue must be a number from 0 to 65535, got '$NFQ_QUEUE'"
  fi
  NFQ_QUEUE=$((10#$NFQ_QUEUE))
  case "$NFQ_BACKEND" in iptables|nftables) ;; *) nfq_die "backend must be 'iptables' or 'nftables', got '$NFQ_BACKEND'" ;; esac
  case "$NFQ_FAMILY" in 4|6|both) ;; *) nfq_die "family must be 4, 6 or both, got '$NFQ_FAMILY'" ;; esac
  case "$NFQ_TABLE" in mangle|filter) ;; *) nfq_die "table must be 'mangle' or 'filter', got '$NFQ_TABLE'" ;; esac
  if [ -z "$chains" ]; then
    # disable looks everywhere enable may have put rules
    if [ "$(basename "$0")" = nfqueue-disable.sh ]; then chains=INPUT,FORWARD,OUTPUT; else chains=INPUT,FORWARD; fi
  fi
  local c
  IFS=',' read -r -a NFQ_CHAINS <<< "$chains"
  [ ${#NFQ_CHAINS[@]} -gt 0 ] || nfq_die "chains must not be empty"
  for c in "${NFQ_CHAINS[@]}"; do
    case "$c" in INPUT|FORWARD|OUTPUT) ;; *) nfq_die "chains must be a comma list of INPUT, FORWARD, OUTPUT, got '$c'" ;; esac
  done
  NFQ_TAG="node-red-contrib-ips-nfqueue-$NFQ_QUEUE"
  NFQ_NFT_TABLE="ips_nfqueue_$NFQ_QUEUE"
}

nfq_require_tools() {
  local tools=()
  if [ "$NFQ_BACKEND" = nftables ]; then tools=(nft); else
    [ "$NFQ_FAMILY" = 6 ] || tools+=(iptables)
    [ "$NFQ_FAMILY" = 4 ] || tools+=(ip6tables)
  fi
  local t
  for t in "${tools[@]}"; do
    command -v "$t" >/dev/null 2>&1 || nfq_die "'$t' not found (Debian: apt-get install ${NFQ_BACKEND})"
  done
}

# --- iptables ---------------------------------------------------------------

nfq_ipt_cmds() {
  [ "$NFQ_FAMILY" = 6 ] || echo iptables
  [ "$NFQ_FAMILY" = 4 ] || echo ip6tables
}

nfq_ipt_is_nft() {
  local version
  version=$("$1" -V 2>/dev/null || true)
  [[ "$version" == *nf_tables* ]]
}

nfq_nft_family_of() {
  if [ "$1" = iptables ]; then echo ip; else echo ip6; fi
}

nfq_state_file() {
  local ns
  ns=$(readlink /proc/self/ns/net | tr -cd '0-9')
  echo "$NFQ_STATE_DIR/nfqueue-ns$ns.created"
}

nfq_rule_spec() {
  local spec=(-m comment --comment "$NFQ_TAG" -j NFQUEUE --queue-num "$NFQ_QUEUE")
  [ "$NFQ_BYPASS" = 1 ] && spec+=(--queue-bypass)
  printf '%s\n' "${spec[@]}"
}

# Delete this queue's tagged rules from one chain of one table (highest rule number first).
nfq_ipt_delete_tagged() {
  local cmd=$1 table=$2 chain=$3 nums n
  nums=$("$cmd" -w -t "$table" -L "$chain" -n --line-numbers 2>/dev/null | awk -v tag="/* $NFQ_TAG */" 'index($0, tag) && $1 ~ /^[0-9]+$/ { print $1 }' | sort -rn)
  for n in $nums; do "$cmd" -w -t "$table" -D "$chain" "$n"; done
}

nfq_ipt_enable() {
  local cmd chain spec fam state other
  mapfile -t spec < <(nfq_rule_spec)
  state=$(nfq_state_file)
  other=filter; [ "$NFQ_TABLE" = filter ] && other=mangle
  for cmd in $(nfq_ipt_cmds); do
    fam=$(nfq_nft_family_of "$cmd")
    for chain in "${NFQ_CHAINS[@]}"; do
      # a tagged rule for this queue in the other table is replaced by this one
      nfq_ipt_delete_tagged "$cmd" "$other" "$chain"
      if "$cmd" -w -t "$NFQ_TABLE" -C "$chain" "${spec[@]}" 2>/dev/null; then continue; fi
      # a tagged rule with other options (bypass changed): replace it
      nfq_ipt_delete_tagged "$cmd" "$NFQ_TABLE" "$chain"
      if nfq_ipt_is_nft "$cmd" && command -v nft >/dev/null 2>&1; then
        mkdir -p "$NFQ_STATE_DIR"
        if ! nft list table "$fam" "$NFQ_TABLE" >/dev/null 2>&1 && ! grep -qx "table $fam $NFQ_TABLE" "$state" 2>/dev/null; then echo "table $fam $NFQ_TABLE" >> "$state"; fi
        if ! nft list chain "$fam" "$NFQ_TABLE" "$chain" >/dev/null 2>&1 && ! grep -qx "chain $fam $NFQ_TABLE $chain" "$state" 2>/dev/null; then echo "chain $fam $NFQ_TABLE $chain" >> "$state"; fi
      fi
      "$cmd" -w -t "$NFQ_TABLE" -I "$chain" 1 "${spec[@]}"
    done
  done
}

nfq_ipt_disable() {
  local cmd chain state kind fam table name cmds keep listing
  cmds=" $(nfq_ipt_cmds | tr '\n' ' ')"
  for cmd in $(nfq_ipt_cmds); do
    for chain in "${NFQ_CHAINS[@]}"; do
      # both tables, whichever enable used
      nfq_ipt_delete_tagged "$cmd" mangle "$chain"
      nfq_ipt_delete_tagged "$cmd" filter "$chain"
    done
  done
  state=$(nfq_state_file)
  [ -f "$state" ] || return 0
  # Filter tables/chains enable had to create (shared by all queues of this
  # namespace): remove those now empty, chains before tables; remember the rest.
  keep=""
  while read -r kind fam table name; do
    cmd=iptables; [ "$fam" = ip6 ] && cmd=ip6tables
    # (listings go through variables: grep -q on a pipe would break it under pipefail)
    listing=$(nft list chain "$fam" "$table" "$name" 2>/dev/null || true)
    if [ "$kind" = chain ] && [ -n "$listing" ] && [[ "$cmds" == *" $cmd "* ]] \
      && ! grep -qvE '^\s*(table|chain|type|\}|$)' <<< "$listing"; then
      nft delete chain "$fam" "$table" "$name" 2>/dev/null || true
    fi
    if nft list chain "$fam" "$table" "$name" >/dev/null 2>&1 && [ "$kind" = chain ]; then keep="$keep$kind $fam $table $name"$'\n'; fi
  done < "$state"
  while read -r kind fam table name; do
    [ "$kind" = table ] || continue
    cmd=iptables; [ "$fam" = ip6 ] && cmd=ip6tables
    listing=$(nft list table "$fam" "$table" 2>/dev/null || true)
    if [ -n "$listing" ] && [[ "$cmds" == *" $cmd "* ]] && ! grep -q 'chain ' <<< "$listing"; then
      nft delete table "$fam" "$table" 2>/dev/null || true
    fi
    if nft list table "$fam" "$table" >/dev/null 2>&1; then keep="$keep$kind $fam $table"$'\n'; fi
  done < "$state"
  if [ -n "$keep" ]; then printf '%s' "$keep" | sort -u > "$state"; else rm -f "$state"; fi
}

# --- nftables ---------------------------------------------------------------

nfq_nft_family() {
  case "$NFQ_FAMILY" in 4) echo ip ;; 6) echo ip6 ;; *) echo inet ;; esac
}

nfq_nft_enable() {
  local fam chain hook stmt ruleset
  fam=$(nfq_nft_family)
  stmt="queue num $NFQ_QUEUE"
  [ "$NFQ_BYPASS" = 1 ] && stmt="$stmt bypass"
  # Own table; "add, delete, add" in one transaction makes re-running idempotent.
  # Priority filter+10: packets the filter table (and block lists) drop never reach the queue.
  ruleset="table $fam $NFQ_NFT_TABLE
delete table $fam $NFQ_NFT_TABLE
table $fam $NFQ_NFT_TABLE {"
  for chain in "${NFQ_CHAINS[@]}"; do
    hook=$(echo "$chain" | tr 'A-Z' 'a-z')
    ruleset="$ruleset
  chain $hook { type filter hook $hook priority filter + 10; policy accept; $stmt; }"
  done
  ruleset="$ruleset
}"
  local err
  if ! err=$(printf '%s\n' "$ruleset" | nft -f - 2>&1); then
    if [[ "$err" == *"No such file or directory"* ]]; then
      nfq_die "nftables refused the queue rule: this kernel lacks nftables queue support (CONFIG_NFT_QUEUE / module nft_queue); use --backend iptables. ($err)"
    fi
    nfq_die "nft failed: $err"
  fi
}

nfq_nft_disable() {
  local fam
  fam=$(nfq_nft_family)
  if nft list table "$fam" "$NFQ_NFT_TABLE" >/dev/null 2>&1; then
    nft delete table "$fam" "$NFQ_NFT_TABLE"
  fi
}
