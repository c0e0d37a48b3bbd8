#!/usr/bin/env bash
# simteeth.sh — shows that the simulator has teeth (issue 20): for each defect kept in
# sim/simnet/testdata/defects/NN-name.patch, a temporary git worktree gets the patch, posnode is built there,
# and `posnode sim net --seeds N --stop-at-first-violation` runs with the flags that defect needs. Prints a
# Markdown table: defect, flags, seeds to the first failure, the invariant violated.
#
# Usage: scripts/simteeth.sh [max seeds, default 1000] [defect name filter]
set -euo pipefail

seeds="${1:-1000}"
filter="${2:-}"
root="$(git rev-parse --show-toplevel)"
work="$(mktemp -d)"
trap 'for w in "$work"/wt-*; do [ -d "$w" ] && git -C "$root" worktree remove --force "$w" >/dev/null 2>&1; done; rm -rf "$work"' EXIT

# The base flags: ten processes, a minute and a half of faults, a record every 300 ms (the CI seeds' mix).
base="--nodes 10 --duration 90s --record-every 300ms --loss 5 --dup 5 --clock-skew 300ms"

flags_for() {
	case "$1" in
	01-pending-head) echo "$base --crash-every 15s --partition-every 30s --pending-slack 1" ;;
	02-gap-forwarded) echo "$base --crash-every 15s --partition-every 30s --gap-flood-every 500ms" ;;
	03-stake-lag-2) echo "--nodes 10 --duration 5m --record-every 1s --crash-every 0 --partition-every 0 --byzantine 0.1 --strategy grind" ;;
	04-evidence-4-epochs) echo "$base --crash-every 15s --partition-every 30s --byzantine 0.1 --strategy equivocate,withhold" ;;
	05-doppelganger-ignores-record) echo "$base --crash-every 10s --partition-every 0 --lose-chaindb --doppelganger-slots 32" ;;
	06-surround-unseen) echo "$base --crash-every 15s --partition-every 30s --byzantine 0.1 --strategy surround" ;;
	07-sync-answers-unjudged) echo "$base --crash-every 15s --partition-every 30s --byzantine 0.2 --strategy synclie" ;;
	08-checkpoint-ignored) echo "$base --crash-every 15s --partition-every 30s --byzantine 0.2 --strategy longrange" ;;
	09-floor-keeps-blocks) echo "$base --crash-every 15s --partition-every 30s" ;;
	11-pending-never-compacts) echo "$base --crash-every 15s --partition-every 30s --pending-slack 1" ;;
	12-own-nonce-reused) echo "$base --crash-every 15s --partition-every 30s --pending-slack 1" ;;
	13-evidence-in-memory) echo "$base --crash-every 15s --partition-every 30s --byzantine 0.1 --strategy equivocate,withhold" ;;
	*) echo "" ;;
	esac
}

echo "| defect | flags | seeds to first failure | invariant violated |"
echo "|---|---|---|---|"
for patch in "$root"/sim/simnet/testdata/defects/*.patch; do
	name="$(basename "$patch" .patch)"
	[[ -n "$filter" && "$name" != *"$filter"* ]] && continue
	flags="$(flags_for "$name")"
	wt="$work/wt-$name"
	git -C "$root" worktree add --detach "$wt" HEAD >/dev/null 2>&1
	git -C "$wt" apply "$patch"
	(cd "$wt" && go build -o "$work/posnode-$name" ./cmd/posnode)
	# shellcheck disable=SC2086
	out="$("$work/posnode-$name" sim net --seeds "$seeds" --stop-at-first-violation $flags 2>&1 || true)"
	ran="$(grep -c '^seed ' <<<"$out" || true)"
	first="$(grep -m1 '  violated: ' <<<"$out" | sed -E "s/^  violated: t=[^)]*\\): //" || true)"
	if [[ -z "$first" ]]; then
		echo "| $name | \`$flags\` | not found in $ran | — |"
	else
		what="$(cut -d: -f1 <<<"$first")"
		detail="$(cut -d: -f2- <<<"$first" | cut -c2-150 | sed "s/|/\\\\|/g")"
		echo "| $name | \`$flags\` | $ran | **$what**: $detail |"
	fi
	git -C "$root" worktree remove --force "$wt" >/dev/null 2>&1
done
