#!/usr/bin/env bash
# Benchmark: what the module costs Odoo's own flows. Two databases made the
# same way, one without and one with the module; ROUNDS rounds on each,
# alternated so that both see the same machine, of measure_core_flows.py
# (confirm orders, post invoices, register payments, reconcile payments with
# invoices). Prints one line: CORE k=v ..., with the medians and the ratios
# with / without (1.00: no cost).
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/common.sh

ROUNDS=${ROUNDS:-3}
prefix=sale_reconciliation_bench_core_$$
work=$(mktemp -d -t sale_reconciliation_bench.XXXXXX)
cleanup() {
    for db in "${prefix}_without" "${prefix}_with"; do
        dropdb --if-exists "$db" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
write_odoo_config "$work/odoo.cfg" "${prefix}_without" "$work/data"
run_odoo() { odoo "$@" -c "$work/odoo.cfg" --no-http --log-level=warn; }

echo "==> database without the module (sale_management, account)" >&2
run_odoo -d "${prefix}_without" -i sale_management,account --without-demo=all \
    --stop-after-init >"$work/without.log" 2>&1
createdb -T "${prefix}_without" "${prefix}_with"
echo "==> the same database with the module" >&2
run_odoo -d "${prefix}_with" -i sale_reconciliation --stop-after-init >"$work/with.log" 2>&1

: >"$work/rounds"
for round in $(seq 1 "$ROUNDS"); do
    for side in without with; do
        echo "==> round $round, $side the module" >&2
        line=$(run_odoo shell -d "${prefix}_$side" <bench/measure_core_flows.py \
            2>"$work/round.log" | grep '^ROUND ') || { tail -30 "$work/round.log" >&2; exit 1; }
        echo "$side ${line#ROUND }" >>"$work/rounds"
    done
done

python3 - "$work/rounds" <<'PY'
import json
import statistics
import sys

rounds = {"without": [], "with": []}
for line in open(sys.argv[1]):
    side, figures = line.split(" ", 1)
    rounds[side].append(json.loads(figures))
figures = {}
for step in ("confirm", "post", "register", "reconcile"):
    without = statistics.median(r[f"{step}_s"] for r in rounds["without"])
    with_module = statistics.median(r[f"{step}_s"] for r in rounds["with"])
    figures[f"core_{step}_without_s"] = round(without, 3)
    figures[f"core_{step}_with_s"] = round(with_module, 3)
    figures[f"core_{step}_ratio"] = round(with_module / without, 2)
print("CORE " + " ".join(f"{k}={v}" for k, v in figures.items()))
PY
