#!/usr/bin/env bash
# make bench: every benchmark, each printing its figures, then one
# machine-readable line with all of them: BENCH key=value ...
set -euo pipefail
cd "$(dirname "$0")/.."

statements=$(bench/statements_at_scale.sh | grep '^STATEMENTS ')
echo "$statements"
install=$(bench/install_at_scale.sh | grep '^INSTALL ')
echo "$install"
matching=$(bench/matching_at_scale.sh | grep '^MATCHING ')
echo "$matching"
core=$(bench/core_flows_at_scale.sh | grep '^CORE ')
echo "$core"
followup=$(bench/followup_at_scale.sh | grep '^FOLLOWUP ')
echo "$followup"
runs=$(bench/runs_at_scale.sh | grep '^RUNS ')
echo "$runs"
echo "BENCH ${statements#STATEMENTS } ${install#INSTALL } ${matching#MATCHING } ${core#CORE }" \
    "${followup#FOLLOWUP } ${runs#RUNS }"
