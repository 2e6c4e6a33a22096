#!/usr/bin/env bash
# Benchmark: what the module costs Odoo's own flows. Two databases made the
# same way, one without and one with the module, vacuumed and analysed;
# ROUNDS rounds of measure_core_flows.py (confirm orders, post invoices,
# register payments, reconcile payments with invoices), the two databases
# taking turns slice by slice in one process. Prints one line: CORE k=v ...,
# with each side's medians and the ratios with / without (median of the
# rounds' ratios; 1.00: no cost). Thirty rounds: the rounds' ratios spread
# with a standard deviation of 1.4 to 3.1 points on the benchmark machine,
# which leaves a median of 15 rounds uncertain by up to 1 point (standard
# error), one of 30 by up to 0.7.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/common.sh

ROUNDS=${ROUNDS:-30}
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

for side in without with; do
    psql -d "${prefix}_$side" -XqAc "VACUUM ANALYZE" >/dev/null
done
echo "==> $ROUNDS rounds, both databases taking turns slice by slice" >&2
ROUNDS=$ROUNDS "$PYTHON" bench/measure_core_flows.py "$work/odoo.cfg" \
    "${prefix}_without" "${prefix}_with" 2>"$work/rounds.log" |
    grep '^ROUND ' | sed 's/^ROUND //' >"$work/rounds" || true
if [ "$(wc -l <"$work/rounds")" -ne "$ROUNDS" ]; then
    tail -30 "$work/rounds.log" >&2
    exit 1
fi

"$PYTHON" - "$work/rounds" <<'PY'
import json
import statistics
import sys

rounds = [json.loads(line) for line in open(sys.argv[1])]
figures = {}
for step in ("confirm", "post", "register", "reconcile"):
    without = [r[f"{step}_without_s"] for r in rounds]
    with_module = [r[f"{step}_with_s"] for r in rounds]
    figures[f"core_{step}_without_s"] = round(statistics.median(without), 3)
    figures[f"core_{step}_with_s"] = round(statistics.median(with_module), 3)
    # The two sides of a round ran the same step seconds apart: their ratio
    # is free of the machine's slower and faster moments between rounds.
    figures[f"core_{step}_ratio"] = round(
        statistics.median(w / wo for w, wo in zip(with_module, without)), 2
    )
print("CORE " + " ".join(f"{k}={v}" for k, v in figures.items()))
# Each round's ratios, on stderr: how far apart the rounds are.
for number, r in enumerate(rounds, 1):
    print(
        f"round {number}: "
        + " ".join(
            f"{step}={r[f'{step}_with_s'] / r[f'{step}_without_s']:.3f}"
            for step in ("confirm", "post", "register", "reconcile")
        ),
        file=sys.stderr,
    )
PY
