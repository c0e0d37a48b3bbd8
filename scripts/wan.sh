#!/usr/bin/env bash
# The WAN testbed: N `posnode run` processes, each in its own network namespace on a bridge, with shaped links
# (one-way latency, jitter, loss, a bandwidth cap), a NATed validator, an optional partition and a record load;
# prints a markdown table and fails when a record is lost or committed twice, a mempool keeps records, or the
# nodes end on different heads. Needs root (network namespaces), iproute2 and nftables; touches neither the root
# namespace's links nor the host's firewall. Removes what it made on exit, on error and on Ctrl-C.
#
#   scripts/wan.sh                     # full form: 16 nodes, default@1s,default@2s,loss2@1s,partition@1s, ~12 min
#   scripts/wan.sh --short             # CI form: 8 nodes, 60 s, default link, 1 s slots, ~2 min
#   scripts/wan.sh -wan-nodes 6 -wan-scenarios partition@2s -wan-latency 100ms -wan-loss 1   # any netbench -wan-* flag
#
# Defaults per link and direction: 50 ms ± 10 ms, 0.5 % loss, 20 Mbit/s. Flags: build/netbench -h (the -wan-* ones).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

flags=()
if [[ ${1:-} == --short ]]; then
	shift
	flags=(-wan-nodes 8 -wan-time 60s -wan-scenarios default@1s -wan-settle 60s)
fi
((EUID == 0)) || { echo "wan: network namespaces need root" >&2; exit 1; }
for tool in ip tc nft; do
	command -v "$tool" >/dev/null || { echo "wan: $tool is missing (Debian: apt-get install iproute2 nftables)" >&2; exit 1; }
done
go build -o build/posnode ./cmd/posnode
go build -o build/netbench ./scripts/netbench
exec build/netbench -figures wan -posnode build/posnode "${flags[@]}" "$@"
