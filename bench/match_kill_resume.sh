#!/usr/bin/env bash
# The scheduled payment matching killed with SIGKILL in the middle, then
# resumed.
#
# A throw-away database with the module and CUSTOMERS customers with 10 open
# invoices and 8 unmatched payments each (seed_matching.py, copied in SQL by
# clone_documents.sql), 5 of which the scheduled matching matches (2 naming
# their invoice, 3 of an invoice's exact amount); the day's matching run
# started, in chunks of CHUNK customers, and the scheduled action switched
# on. Odoo is then served with one cron worker; once KILL_AFTER more
# customers are done the process is killed with SIGKILL (mid-chunk or
# between chunks), KILLS times, and restarted; the last start runs to the
# end. Then checks: the run is done, every customer done once, as many
# matches as the matching proposes, each payment and invoice matched once.
# Prints "MATCH_KILL_RESUME key=value ..." and exits 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/common.sh

CUSTOMERS=${CUSTOMERS:-100}
SEED_CUSTOMERS=${SEED_CUSTOMERS:-10}
CHUNK=${CHUNK:-5}
KILLS=${KILLS:-2}
KILL_AFTER=${KILL_AFTER:-$((CHUNK * 2 + 1))}
PORT=${PORT:-$((18000 + $$ % 1000))}
export CUSTOMERS SEED_CUSTOMERS
db=sale_reconciliation_match_kill_$$
work=$(mktemp -d -t sale_reconciliation_match_kill.XXXXXX)
server_pid=
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -9 "$server_pid" 2>/dev/null || true
    fi
    dropdb --if-exists "$db" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
write_odoo_config "$work/odoo.cfg" "$db" "$work/data"
sql() { psql -X -qtA -d "$db" -c "$1"; }

echo "==> database with the module" >&2
odoo -c "$work/odoo.cfg" -d "$db" -i sale_reconciliation --without-demo=all \
    --stop-after-init --no-http --log-level=warn >"$work/install.log" 2>&1
echo "==> $SEED_CUSTOMERS customers' documents through Odoo, copied to $CUSTOMERS" >&2
odoo shell -c "$work/odoo.cfg" -d "$db" --no-http --log-level=warn \
    <bench/seed_matching.py 2>"$work/seed.log" | grep '^SEEDED ' >&2 || {
    tail -30 "$work/seed.log" >&2; exit 1; }
psql -X -q -d "$db" -v copies="$(( CUSTOMERS / SEED_CUSTOMERS - 1 ))" \
    -v partner_shift="$SEED_CUSTOMERS" -f bench/clone_documents.sql >/dev/null

echo "==> the day's matching run started (chunks of $CHUNK)" >&2
CHUNK=$CHUNK odoo shell -c "$work/odoo.cfg" -d "$db" --no-http --log-level=warn \
    >"$work/start.out" 2>"$work/start.log" <<'PY'
import os
from odoo import fields
from odoo.addons.sale_reconciliation.models.payment_matching import AUTOMATIC_RULES
from odoo.addons.sale_reconciliation.models.sale_reconciliation_match_run import (
    CHUNK_SIZE_PARAM,
)

company = env.company
wizard = env["sale.reconciliation.match"].create({"company_id": company.id})
expected = len(wizard._compute_proposals(list(AUTOMATIC_RULES)))
env["ir.config_parameter"].set_param(CHUNK_SIZE_PARAM, os.environ["CHUNK"])
run = env["sale.reconciliation.match.run"].sudo()._start(
    company, fields.Date.context_today(env["res.users"])
)
cron = env.ref("sale_reconciliation.ir_cron_match_payments")
cron.write({"active": True, "nextcall": fields.Datetime.now()})
env.cr.execute("SELECT COALESCE(MAX(id), 0) FROM account_partial_reconcile")
[[last_partial]] = env.cr.fetchall()
env.cr.commit()
print("RUN", run.id, len(run.line_ids), expected, last_partial)
PY
read -r _ run_id total expected last_partial < <(grep '^RUN ' "$work/start.out") || {
    tail -30 "$work/start.log" >&2; exit 1; }
echo "==> run $run_id: $total customers, $expected matches to make" >&2

done_lines() {
    sql "SELECT COUNT(*) FROM sale_reconciliation_match_run_line WHERE run_id = $run_id AND state != 'todo'"
}
serve() {
    # Odoo itself, not a shell function around it: SIGKILL must hit Odoo.
    "$PYTHON" -m odoo -c "$work/odoo.cfg" -d "$db" --http-port="$PORT" \
        --max-cron-threads=1 --log-level=info >>"$work/server.log" 2>&1 &
    server_pid=$!
    # The cron worker polls every minute; wake it at once.
    sleep 8
    psql -X -q -d postgres -c "NOTIFY cron_trigger, '$db'" >/dev/null
}

kills_done=0
for kill in $(seq 1 "$KILLS"); do
    target=$(( $(done_lines) + KILL_AFTER ))
    serve
    for _ in $(seq 1 1200); do
        [ "$(done_lines)" -ge "$target" ] && break
        sleep 0.5
    done
    kill -9 "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=
    kills_done=$((kills_done + 1))
    echo "==> SIGKILL $kill with $(done_lines) of $total customers done" >&2
done

echo "==> restarted: to the end" >&2
start=$(date +%s)
serve
for _ in $(seq 1 1800); do
    state=$(sql "SELECT state FROM sale_reconciliation_match_run WHERE id = $run_id")
    [ "$state" = running ] || break
    sleep 1
done
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=

line_states=$(sql "SELECT string_agg(state || ':' || n, ',') FROM (SELECT state, COUNT(*) n FROM sale_reconciliation_match_run_line WHERE run_id = $run_id GROUP BY state ORDER BY state) s")
matched=$(sql "SELECT COALESCE(SUM(matched_count), 0) FROM sale_reconciliation_match_run_line WHERE run_id = $run_id")
refused=$(sql "SELECT COALESCE(SUM(refused_count), 0) FROM sale_reconciliation_match_run_line WHERE run_id = $run_id")
# Each proposal of these rules settles one invoice with one payment: one
# partial reconciliation each, never two on the same item.
partials=$(sql "SELECT COUNT(*) FROM account_partial_reconcile WHERE id > $last_partial")
twice_paid=$(sql "SELECT COUNT(*) FROM (SELECT credit_move_id FROM account_partial_reconcile WHERE id > $last_partial GROUP BY credit_move_id HAVING COUNT(*) > 1) d")
twice_settled=$(sql "SELECT COUNT(*) FROM (SELECT debit_move_id FROM account_partial_reconcile WHERE id > $last_partial GROUP BY debit_move_id HAVING COUNT(*) > 1) d")
echo "MATCH_KILL_RESUME customers=$total kills=$kills_done run_state=$state lines=$line_states expected=$expected matched=$matched refused=$refused partials=$partials payments_matched_twice=$twice_paid invoices_matched_twice=$twice_settled resumed_s=$(( $(date +%s) - start ))"
grep -c "processed .* records, .* records remaining" "$work/server.log" | sed 's/^/chunks logged by the cron worker: /' >&2
[ "$state" = done ] && [ "$line_states" = "done:$total" ] && [ "$matched" = "$expected" ] \
    && [ "$partials" = "$expected" ] && [ "$twice_paid" = 0 ] && [ "$twice_settled" = 0 ]
