#!/usr/bin/env bash
# Remove the NFQUEUE rules nfqueue-enable.sh added for a queue, and nothing
# else: tagged iptables rules in the mangle and filter tables (plus any table
# or chain the enable step had to create and that is now empty), or the
# nftables table it created.
#
#   nfqueue-disable.sh [--queue N] [--chains INPUT,FORWARD] [--backend iptables|nftables] [--family 4|6|both]
#
# Safe to run when nothing is enabled. Needs root (CAP_NET_ADMIN).
set -euo pipefail
# shellcheck source=nfqueue-common.sh
. "$(dirname "$0")/nfqueue-common.sh"

nfq_parse_args "$@"
nfq_require_tools

if [ "$NFQ_BACKEND" = nftables ]; then
  nfq_nft_disable
else
  nfq_ipt_disable
fi
echo "nfqueue-disable: queue $NFQ_QUEUE removed from ${NFQ_CHAINS[*]} ($NFQ_BACKEND, IPv$NFQ_FAMILY)"
