#!/usr/bin/env bash
# Benchmark: does the module slow Odoo's own flows, and how long does it take
# to install on a database with many invoices?
#
# 1. the same workload (confirm SEED_ORDERS orders, post their invoices,
#    register payments on 60% of them) on a database without and one with
#    the module;
# 2. the seeded documents multiplied in SQL to about TARGET_INVOICES
#    invoices, then the module installed on that database.
#
# Prints one line: INSTALL key=value ...
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/common.sh

SEED_ORDERS=${SEED_ORDERS:-200}
TARGET_INVOICES=${TARGET_INVOICES:-100000}
export SEED_ORDERS
prefix=sale_reconciliation_bench_$$
work=$(mktemp -d -t sale_reconciliation_bench.XXXXXX)
cleanup() {
    for db in "${prefix}_base" "${prefix}_without" "${prefix}_with"; do
        dropdb --if-exists "$db" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
write_odoo_config "$work/odoo.cfg" "${prefix}_base" "$work/data"
run_odoo() { odoo "$@" -c "$work/odoo.cfg" --no-http --log-level=warn; }
seconds() { python3 -c 'import time; print(time.monotonic())'; }

echo "==> base database (sale_management, account)" >&2
run_odoo -d "${prefix}_base" -i sale_management,account --without-demo=all --stop-after-init >"$work/base.log" 2>&1
createdb -T "${prefix}_base" "${prefix}_without"
createdb -T "${prefix}_base" "${prefix}_with"
run_odoo -d "${prefix}_with" -i sale_reconciliation --stop-after-init >"$work/with.log" 2>&1

echo "==> same workload without and with the module ($SEED_ORDERS orders)" >&2
seed_without=$(run_odoo shell -d "${prefix}_without" <bench/seed_documents.py 2>"$work/seed_without.log" | grep '^SEEDED ')
seed_with=$(run_odoo shell -d "${prefix}_with" <bench/seed_documents.py 2>"$work/seed_with.log" | grep '^SEEDED ')

copies=$(( (TARGET_INVOICES + SEED_ORDERS - 1) / SEED_ORDERS - 1 ))
echo "==> multiplying the documents x$((copies + 1)) in SQL" >&2
psql -X -q -d "${prefix}_without" -v copies="$copies" -v partner_shift=0 -f bench/clone_documents.sql >/dev/null
invoices=$(psql -XtA -d "${prefix}_without" -c "SELECT count(*) FROM account_move WHERE move_type = 'out_invoice'")
payments=$(psql -XtA -d "${prefix}_without" -c "SELECT count(*) FROM account_payment")
orders=$(psql -XtA -d "${prefix}_without" -c "SELECT count(*) FROM sale_order")

echo "==> installing the module on $invoices invoices" >&2
start=$(seconds)
run_odoo -d "${prefix}_without" -i sale_reconciliation --stop-after-init >"$work/install.log" 2>&1
install_s=$(python3 -c "import time; print(round(time.monotonic() - $start, 1))")
grep -E ' (ERROR|CRITICAL) ' "$work/install.log" && { echo "install failed" >&2; exit 1; }
states=$(psql -XtA -d "${prefix}_without" -F= -R' ' -c \
    "SELECT 'orders_' || reconciliation_state, count(*) FROM sale_order GROUP BY 1 ORDER BY 1")
move_states=$(psql -XtA -d "${prefix}_without" -F= -R' ' -c \
    "SELECT 'invoices_' || reconciliation_state, count(*) FROM account_move WHERE move_type = 'out_invoice' GROUP BY 1 ORDER BY 1")

python3 - "$seed_without" "$seed_with" <<PY
import json, sys
without = json.loads(sys.argv[1].split(" ", 1)[1])
with_module = json.loads(sys.argv[2].split(" ", 1)[1])
figures = {
    "invoices": $invoices, "orders": $orders, "payments": $payments,
    "install_s": $install_s,
}
for key in ("confirm_s", "post_invoices_s", "register_payments_s"):
    figures[key.replace("_s", "_without_s")] = round(without[key], 2)
    figures[key.replace("_s", "_with_s")] = round(with_module[key], 2)
print("INSTALL " + " ".join(f"{k}={v}" for k, v in figures.items()) + " $states $move_states")
PY
