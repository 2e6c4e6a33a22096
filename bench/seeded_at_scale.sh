#!/usr/bin/env bash
# Usage: bench/seeded_at_scale.sh LABEL SEED_SCRIPT MEASURE_SCRIPT
#
# The shared skeleton of the benchmarks on CUSTOMERS customers: a throw-away
# database with the module; SEED_SCRIPT (an `odoo shell` script) creates the
# customers and the documents of the first SEED_CUSTOMERS through Odoo's own
# flows; clone_documents.sql copies those documents to the other customers;
# MEASURE_SCRIPT prints "MEASURED {json}", shown as one line
# "LABEL key=value ...". The database is dropped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/common.sh

label=$1 seed_script=$2 measure_script=$3
CUSTOMERS=${CUSTOMERS:-1000}
SEED_CUSTOMERS=${SEED_CUSTOMERS:-10}
export CUSTOMERS SEED_CUSTOMERS
db=sale_reconciliation_bench_${label,,}_$$
work=$(mktemp -d -t sale_reconciliation_bench.XXXXXX)
cleanup() { dropdb --if-exists "$db" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
write_odoo_config "$work/odoo.cfg" "$db" "$work/data"
run_odoo() { odoo "$@" -c "$work/odoo.cfg" --no-http --log-level=warn; }

echo "==> database with the module" >&2
run_odoo -d "$db" -i sale_reconciliation --without-demo=all --stop-after-init >"$work/install.log" 2>&1
echo "==> $SEED_CUSTOMERS customers' documents through Odoo ($seed_script)" >&2
run_odoo shell -d "$db" <"$seed_script" 2>"$work/seed.log" | grep '^SEEDED ' >&2 || {
    tail -30 "$work/seed.log" >&2; exit 1; }
copies=$(( CUSTOMERS / SEED_CUSTOMERS - 1 ))
echo "==> copied to $CUSTOMERS customers in SQL" >&2
psql -X -q -d "$db" -v copies="$copies" -v partner_shift="$SEED_CUSTOMERS" \
    -f bench/clone_documents.sql >/dev/null
echo "==> measuring ($measure_script)" >&2
measured=$(run_odoo shell -d "$db" <"$measure_script" 2>"$work/measure.log" | grep '^MEASURED ') || {
    tail -30 "$work/measure.log" >&2; exit 1; }
python3 - "$label" "$measured" <<'PY'
import json, sys
figures = json.loads(sys.argv[2].split(" ", 1)[1])
print(sys.argv[1] + " " + " ".join(f"{k}={v}" for k, v in figures.items()))
PY
