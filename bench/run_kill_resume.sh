#!/usr/bin/env bash
# A statement run killed with SIGKILL in the middle, then resumed.
#
# A throw-away database with the module and CUSTOMERS customers (one posted
# invoice each last month, an email address each); a run to generate,
# confirm and send their statements, in chunks of CHUNK customers, started
# and committed. Odoo is then served with one cron worker; once KILL_AFTER
# customers are done the process is killed with SIGKILL (mid-chunk: each
# statement's PDF goes through wkhtmltopdf), KILLS times, and restarted; the
# last start runs to the end. Then checks: the run is done, every customer
# has one statement of the month, every statement one queued email and one
# PDF. Prints "KILL_RESUME key=value ..." and exits 1 on a duplicate.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/common.sh

CUSTOMERS=${CUSTOMERS:-60}
CHUNK=${CHUNK:-5}
KILLS=${KILLS:-2}
PORT=${PORT:-$((18000 + $$ % 1000))}
db=sale_reconciliation_kill_resume_$$
work=$(mktemp -d -t sale_reconciliation_kill.XXXXXX)
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

echo "==> $CUSTOMERS customers, a run started (chunks of $CHUNK)" >&2
CUSTOMERS=$CUSTOMERS CHUNK=$CHUNK PORT=$PORT odoo shell -c "$work/odoo.cfg" -d "$db" \
    --no-http --log-level=warn >"$work/seed.out" 2>"$work/seed.log" <<'PY'
import os
from dateutil.relativedelta import relativedelta
from odoo import Command, fields

today = fields.Date.today()
date_from = today.replace(day=1) - relativedelta(months=1)
date_to = today.replace(day=1) - relativedelta(days=1)
partners = env["res.partner"].create([
    {"name": f"Kill Customer {i:04d}", "is_company": True,
     "email": f"kill{i}@example.com"}
    for i in range(int(os.environ["CUSTOMERS"]))
])
moves = env["account.move"].create([
    {"move_type": "out_invoice", "partner_id": partner.id,
     "invoice_date": date_from + relativedelta(days=9),
     "invoice_line_ids": [Command.create(
         {"name": "Goods", "quantity": 1, "price_unit": 100.0, "tax_ids": []})]}
    for partner in partners
])
moves.action_post()
ICP = env["ir.config_parameter"].sudo()
ICP.set_param("sale_reconciliation.statement_run_chunk_size", os.environ["CHUNK"])
ICP.set_param("web.base.url", f"http://127.0.0.1:{os.environ['PORT']}")
ICP.set_param("web.base.url.freeze", "True")
# Keep the queued emails where the check can count them: no SMTP here.
env.ref("mail.ir_cron_mail_scheduler_action").active = False
run = env["sale.reconciliation.statement.run"].create({
    "date_from": date_from, "date_to": date_to, "customer_scope": "all",
    "operation": "send",
})
run.action_start()
env.cr.commit()
print("RUN", run.id, len(run.line_ids))
PY
grep '^RUN ' "$work/seed.out" >&2 || { tail -30 "$work/seed.log" >&2; exit 1; }

open_lines() {
    sql "SELECT COUNT(*) FROM sale_reconciliation_statement_run_line WHERE state NOT IN ('sent', 'skipped', 'failed')"
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

total=$(open_lines)
kills_done=0
for kill in $(seq 1 "$KILLS"); do
    before=$(open_lines)
    target=$((before - CHUNK * 2 - 2))
    serve
    for _ in $(seq 1 600); do
        [ "$(open_lines)" -le "$target" ] && break
        sleep 0.5
    done
    kill -9 "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=
    kills_done=$((kills_done + 1))
    echo "==> SIGKILL $kill with $(open_lines) of $total customers open" >&2
done

echo "==> restarted: to the end" >&2
start=$(date +%s)
serve
for _ in $(seq 1 1200); do
    state=$(sql "SELECT state FROM sale_reconciliation_statement_run")
    [ "$state" = done ] || [ "$state" = failed ] && break
    sleep 1
done
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=

statements=$(sql "SELECT COUNT(*) FROM sale_reconciliation_statement")
duplicate_statements=$(sql "SELECT COUNT(*) FROM (SELECT partner_id FROM sale_reconciliation_statement WHERE state != 'cancel' GROUP BY partner_id, date_from, date_to HAVING COUNT(*) > 1) d")
mails=$(sql "SELECT COUNT(*) FROM mail_mail m JOIN mail_message msg ON msg.id = m.mail_message_id WHERE msg.model = 'sale.reconciliation.statement'")
duplicate_mails=$(sql "SELECT COUNT(*) FROM (SELECT msg.res_id FROM mail_mail m JOIN mail_message msg ON msg.id = m.mail_message_id WHERE msg.model = 'sale.reconciliation.statement' GROUP BY msg.res_id HAVING COUNT(*) > 1) d")
duplicate_pdfs=$(sql "SELECT COUNT(*) FROM (SELECT res_id FROM ir_attachment WHERE res_model = 'sale.reconciliation.statement' GROUP BY res_id HAVING COUNT(*) > 1) d")
sent=$(sql "SELECT COUNT(*) FROM sale_reconciliation_statement WHERE state = 'sent'")
line_states=$(sql "SELECT string_agg(state || ':' || n, ',') FROM (SELECT state, COUNT(*) n FROM sale_reconciliation_statement_run_line GROUP BY state ORDER BY state) s")
echo "KILL_RESUME customers=$total kills=$kills_done run_state=$state lines=$line_states statements=$statements sent=$sent mails=$mails duplicate_statements=$duplicate_statements duplicate_mails=$duplicate_mails duplicate_pdfs=$duplicate_pdfs resumed_s=$(( $(date +%s) - start ))"
grep -c "processed .* records, .* records remaining" "$work/server.log" | sed 's/^/chunks logged by the cron worker: /' >&2
[ "$state" = done ] && [ "$duplicate_statements" = 0 ] && [ "$duplicate_mails" = 0 ] \
    && [ "$duplicate_pdfs" = 0 ] && [ "$mails" = "$total" ]
