#!/usr/bin/env bash
# Send INPUT/FORWARD traffic to an NFQUEUE read by the nfqueue-in node.
#
#   nfqueue-enable.sh [--queue N] [--chains INPUT,FORWARD] [--backend iptables|nftables]
#                     [--family 4|6|both] [--table mangle|filter] [--fail-closed]
#
# iptables: the rule goes first in the chain of the mangle table (default),
# which runs before the filter table: an accepted packet still meets every
# filter rule (block lists included) and filter ACCEPT rules cannot skip the
# inspection. --table filter puts it first in the filter chain instead, where
# an accepted packet skips the rest of that chain. nftables: own table at
# priority filter+10, after the filter table.
#
# With the default --queue-bypass (nftables: `queue ... bypass`) the kernel
# accepts packets while no program listens on the queue, so traffic keeps
# flowing when Node-RED is stopped. --fail-closed leaves bypass off: with no
# listener the packets are dropped.
#
# Idempotent: running it twice leaves the same rules. Every rule is tagged
# (iptables comment / own nftables table) so nfqueue-disable.sh removes
# exactly what this added, and nothing else. Needs root (CAP_NET_ADMIN).
set -euo pipefail
# shellcheck source=nfqueue-common.sh
. "$(dirname "$0")/nfqueue-common.sh"

nfq_parse_args "$@"
nfq_require_tools

if [ "$NFQ_BACKEND" = nftables ]; then
  nfq_nft_enable
else
  nfq_ipt_enable
fi
echo "nfqueue-enable: queue $NFQ_QUEUE on ${NFQ_CHAINS[*]} ($NFQ_BACKEND$([ "$NFQ_BACKEND" = iptables ] && echo " $NFQ_TABLE table"), IPv$NFQ_FAMILY, $([ "$NFQ_BYPASS" = 1 ] && echo 'bypass when no listener' || echo 'fail-closed'))"
