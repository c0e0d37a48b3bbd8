#!/usr/bin/env bash
# End-to-end test: a fresh four-validator docker testnet under faults, checked over the HTTP API.
#
#   scripts/e2e.sh [flags of scripts/e2e]     e.g. --hold 30s
#
# It runs under its own compose name (posnode-e2e), its own ports (APIs 18081..18084, libp2p 14001) and a
# temporary testnet directory, so it never touches a testnet started with scripts/testnet.sh, and it always tears
# its own down.
# The nodes' logs, and the log of the adversary of the byzantine stage, are kept in build/e2e-logs/. See scripts/e2e/main.go for what is checked.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

export POSNODE_NAME=${E2E_NAME:-posnode-e2e}
export POSNODE_API_PORT1=${E2E_API_PORT1:-18081} POSNODE_API_PORT2=${E2E_API_PORT2:-18082}
export POSNODE_API_PORT3=${E2E_API_PORT3:-18083} POSNODE_API_PORT4=${E2E_API_PORT4:-18084}
export POSNODE_P2P_ADDR=127.0.0.1 POSNODE_P2P_PORT=${E2E_P2P_PORT:-14001}
export POSNODE_START_IN=10s
tmp=$(mktemp -d)
export POSNODE_TESTNET_DIR=$tmp/testnet
logs=$root/build/e2e-logs

teardown() {
	local rc=$? i
	trap - EXIT INT TERM
	mkdir -p "$logs"
	for i in 1 2 3 4; do
		docker logs "$POSNODE_NAME-node$i" >"$logs/node$i.log" 2>&1 || true
	done
	if ((rc != 0)); then
		for i in 1 2 3 4; do
			echo "--- last lines of node$i (all in $logs/node$i.log)"
			tail -n 15 "$logs/node$i.log"
		done
	fi
	echo "tearing down the e2e testnet"
	scripts/testnet.sh down -v >/dev/null 2>&1 ||
		echo "e2e: teardown failed; run: POSNODE_NAME=$POSNODE_NAME scripts/testnet.sh down -v" >&2
	rm -rf "$tmp"
	exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT TERM

go build -o build/e2e ./scripts/e2e
go build -o build/adversary ./scripts/adversary
go build -o build/posnode ./cmd/posnode
scripts/testnet.sh up
apis=127.0.0.1:$POSNODE_API_PORT1,127.0.0.1:$POSNODE_API_PORT2,127.0.0.1:$POSNODE_API_PORT3
apis+=,127.0.0.1:$POSNODE_API_PORT4
mkdir -p "$logs"
build/e2e -name "$POSNODE_NAME" -api "$apis" -testnet "$POSNODE_TESTNET_DIR" \
	-p2p "$POSNODE_P2P_ADDR:$POSNODE_P2P_PORT" -adversary build/adversary -adversary-log "$logs/adversary.log" -posnode build/posnode "$@"
