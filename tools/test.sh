#!/usr/bin/env bash
# make test: a throw-away database with the module installed, the whole suite
# through pytest-odoo (the module's tests and the install/upgrade/uninstall
# checks in tests/), then the database is dropped. Exits non-zero on any
# failure, error or skipped test.
set -uo pipefail
cd "$(dirname "$0")/.."
. tools/common.sh

db=${TEST_DB:-sale_reconciliation_test_$(date +%Y%m%d%H%M%S)_$$}
work=$(mktemp -d -t sale_reconciliation_test.XXXXXX)
cleanup() {
    dropdb --if-exists "$db" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

write_odoo_config "$work/odoo.cfg" "$db" "$work/data"

# sale_reconciliation_queue brings queue_job (from requirements-test.txt):
# the glue add-on and its tests run in the same database as the module's;
# base_automation (Odoo's automated actions) too, for the tests of those
# set on the reconciliation status.
echo "==> installing sale_reconciliation and sale_reconciliation_queue on the fresh database $db"
if ! odoo -c "$work/odoo.cfg" -d "$db" -i sale_reconciliation,sale_reconciliation_queue,base_automation --without-demo=all \
        --stop-after-init --no-http --log-level=warn >"$work/install.log" 2>&1; then
    cat "$work/install.log"
    echo "FAILED: the module did not install on $db"
    exit 1
fi
if grep -E ' (ERROR|CRITICAL) ' "$work/install.log"; then
    echo "FAILED: the install logged errors (above)"
    exit 1
fi

echo "==> running the suite"
SALE_RECONCILIATION_ODOO_CFG="$work/odoo.cfg" \
    "$PYTHON" -m pytest -p no:cacheprovider \
    --odoo-config="$work/odoo.cfg" --odoo-database="$db" --odoo-http \
    --odoo-log-level=error \
    sale_reconciliation/tests sale_reconciliation_queue/tests tests "$@"
