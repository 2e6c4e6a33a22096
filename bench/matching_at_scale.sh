#!/usr/bin/env bash
# Benchmark: matching payments with invoices on CUSTOMERS customers with 10
# open invoices and 8 unmatched payments each (10,000 and 8,000 for 1,000
# customers). The first SEED_CUSTOMERS get their documents through Odoo's
# own flows; the documents are then copied in SQL to the other customers.
# Prints the figures of measure_matching.py on one line: MATCHING k=v ...
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/common.sh

CUSTOMERS=${CUSTOMERS:-1000}
SEED_CUSTOMERS=${SEED_CUSTOMERS:-10}
export CUSTOMERS SEED_CUSTOMERS
db=sale_reconciliation_bench_matching_$$
work=$(mktemp -d -t sale_reconciliation_bench.XXXXXX)
cleanup() { dropdb --if-exists "$db" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
write_odoo_config "$work/odoo.cfg" "$db" "$work/data"
run_odoo() { odoo "$@" -c "$work/odoo.cfg" --no-http --log-level=warn; }

echo "==> database with the module" >&2
run_odoo -d "$db" -i sale_reconciliation --without-demo=all --stop-after-init >"$work/install.log" 2>&1
echo "==> $SEED_CUSTOMERS customers' invoices and payments through Odoo" >&2
run_odoo shell -d "$db" <bench/seed_matching.py 2>"$work/seed.log" | grep '^SEEDED ' >&2 || {
    tail -30 "$work/seed.log" >&2; exit 1; }
copies=$(( CUSTOMERS / SEED_CUSTOMERS - 1 ))
echo "==> copied to $CUSTOMERS customers in SQL" >&2
psql -X -q -d "$db" -v copies="$copies" -v partner_shift="$SEED_CUSTOMERS" \
    -f bench/clone_documents.sql >/dev/null
echo "==> measuring preview, apply and Odoo's reconcile() of the same groups" >&2
measured=$(run_odoo shell -d "$db" <bench/measure_matching.py 2>"$work/measure.log" | grep '^MEASURED ') || {
    tail -30 "$work/measure.log" >&2; exit 1; }
python3 - "$measured" <<'PY'
import json, sys
figures = json.loads(sys.argv[1].split(" ", 1)[1])
print("MATCHING " + " ".join(f"{k}={v}" for k, v in figures.items()))
PY
