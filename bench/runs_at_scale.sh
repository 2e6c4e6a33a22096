#!/usr/bin/env bash
# Benchmark: a statement run (October 2026, all customers: generate, confirm,
# render the PDF, queue the email) on the bench data of CUSTOMERS customers
# with about 100 receivable items each (seed_ledger.py + clone_documents.sql,
# as statements_at_scale.sh), done three times on copies of one database:
#
# 1. in one process, the way the scheduled action does it (one chunk per
#    transaction): run_s, run_max_txn_s (the longest transaction),
#    run_per_statement_s, pdf_kb (mean size of the statements' PDFs);
# 2. by queue_job on a prefork server of WORKERS HTTP workers, the channel
#    root.sale_reconciliation at capacity 1, then 2: run_1worker_s,
#    run_2workers_s (from the start of the run to its end);
# The data has CUSTOMERS customers (1,000 by default); the runs cover all of
# them, or the first RUN_CUSTOMERS.
# run_1worker_cpu_busy, run_2workers_cpu_busy: the share of the machine's
# CPU time (all cores) in use during each queue run; the jobs, with when
# each started and how long it took, go to the standard error.
# run_max_rss_mb: the largest resident memory of an Odoo process doing the
# work (the process of 1, every process of the servers of 2, sampled).
#
# wkhtmltopdf loads the report's styles over HTTP: each run has an Odoo
# serving its database on a free port (web.base.url), and the script fails
# when the server served no report assets. Prints one line
# "RUNS key=value ..." and fails loudly when a figure is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/common.sh

CUSTOMERS=${CUSTOMERS:-1000}
SEED_CUSTOMERS=${SEED_CUSTOMERS:-10}
RUN_CUSTOMERS=${RUN_CUSTOMERS:-$CUSTOMERS}
CHUNK=${CHUNK:-20}
WORKERS=${WORKERS:-4}
RUN_TIMEOUT=${RUN_TIMEOUT:-5400}
export CUSTOMERS SEED_CUSTOMERS RUN_CUSTOMERS
db=sale_reconciliation_bench_runs_$$
work=$(mktemp -d -t sale_reconciliation_bench_runs.XXXXXX)
server_pid=
dbs=("$db")

stop_server() {
    [ -n "$server_pid" ] || return 0
    # The server leads its own session: its workers and wkhtmltopdf go too.
    kill -TERM -- "-$server_pid" 2>/dev/null || true
    for _ in $(seq 1 40); do
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.5
    done
    kill -KILL -- "-$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
}
cleanup() {
    stop_server
    for name in "${dbs[@]}"; do dropdb --if-exists "$name" >/dev/null 2>&1 || true; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
write_odoo_config "$work/odoo.cfg" "$db" "$work/data"
sed -i '/^dbfilter/d' "$work/odoo.cfg"
fail() { echo "ERROR: $*" >&2; exit 1; }
sql() { psql -X -qtA -d "$1" -c "$2"; }
free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

echo "==> database with the module and the queue_job glue" >&2
odoo -c "$work/odoo.cfg" -d "$db" -i sale_reconciliation,sale_reconciliation_queue \
    --without-demo=all --stop-after-init --no-http --log-level=warn >"$work/install.log" 2>&1 \
    || { tail -30 "$work/install.log" >&2; fail "install"; }
echo "==> $SEED_CUSTOMERS customers' documents through Odoo (seed_ledger.py)" >&2
odoo shell -c "$work/odoo.cfg" -d "$db" --no-http --log-level=warn <bench/seed_ledger.py \
    2>"$work/seed.log" | grep '^SEEDED ' >&2 || { tail -30 "$work/seed.log" >&2; fail "seed"; }
echo "==> copied to $CUSTOMERS customers in SQL" >&2
psql -X -q -d "$db" -v copies=$(( CUSTOMERS / SEED_CUSTOMERS - 1 )) \
    -v partner_shift="$SEED_CUSTOMERS" -f bench/clone_documents.sql >/dev/null
# Every customer an email address (the run emails them); no mail sent, the
# queue kept; no scheduled action processing the runs besides the one
# measured; the chunk size.
CHUNK=$CHUNK odoo shell -c "$work/odoo.cfg" -d "$db" --no-http --log-level=warn \
    >"$work/prepare.out" 2>"$work/prepare.log" <<'PY'
import os
customers = env["res.partner"].search([("name", "=like", "Statement Customer %")])
for customer in customers:
    customer.email = f"customer{customer.id}@example.com"
env.ref("mail.ir_cron_mail_scheduler_action").active = False
env.ref("sale_reconciliation.ir_cron_process_statement_runs").active = False
env["ir.config_parameter"].set_param(
    "sale_reconciliation.statement_run_chunk_size", os.environ["CHUNK"]
)
env["ir.config_parameter"].set_param("web.base.url.freeze", "True")
env.cr.commit()
print("PREPARED", len(customers))
PY
grep -q '^PREPARED ' "$work/prepare.out" || { tail -30 "$work/prepare.log" >&2; fail "prepare"; }

# copy NAME: a copy of the seeded database, with its files.
copy() {
    dbs+=("$1")
    createdb -T "$db" "$1"
    if [ -d "$work/data/filestore/$db" ]; then
        cp -a "$work/data/filestore/$db" "$work/data/filestore/$1"
    fi
}
# serve DB LOG [odoo options]: Odoo serving DB on a free port, in its own
# session, no scheduled actions; returns once it answers.
serve() {
    local name=$1 log=$2
    shift 2
    port=$(free_port)
    sql "$name" "UPDATE ir_config_parameter SET value = 'http://127.0.0.1:$port' WHERE key = 'web.base.url'"
    # tools/odoo_server.py, not `-m odoo`: the workers' long-polling
    # process must be able to start.
    setsid "$PYTHON" "$PWD/tools/odoo_server.py" -c "$work/odoo.cfg" -d "$name" --db-filter="^$name\$" \
        --http-port="$port" --gevent-port="$(free_port)" --max-cron-threads=0 \
        --log-level=info "$@" >"$log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 120); do
        curl -sf -o /dev/null "http://127.0.0.1:$port/web/health" && return 0
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 1
    done
    tail -30 "$log" >&2
    fail "Odoo did not start on port $port"
}
# cpu_jiffies: the machine's busy and idle CPU time so far (/proc/stat).
cpu_jiffies() {
    awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat
}
# rss_mb: the largest resident memory (MB) of the server's Odoo processes now.
rss_mb() {
    ps -o rss=,args= -s "$server_pid" 2>/dev/null \
        | awk '/odoo_server.py/ { if ($1 > max) max = $1 } END { printf "%d", max / 1024 }'
}
# check DB LOG: the run's statements were sent with styled PDFs; prints
# "PDF_COUNT PDF_KB".
check() {
    local name=$1 log=$2
    local state sent mails pdfs html kb assets respawns
    state=$(sql "$name" "SELECT string_agg(state, ',') FROM sale_reconciliation_statement_run")
    sent=$(sql "$name" "SELECT COUNT(*) FROM sale_reconciliation_statement WHERE state = 'sent'")
    mails=$(sql "$name" "SELECT COUNT(*) FROM mail_mail m JOIN mail_message msg ON msg.id = m.mail_message_id WHERE msg.model = 'sale.reconciliation.statement'")
    pdfs=$(sql "$name" "SELECT COUNT(*) FROM ir_attachment WHERE res_model = 'sale.reconciliation.statement' AND mimetype = 'application/pdf'")
    html=$(sql "$name" "SELECT COUNT(*) FROM ir_attachment WHERE res_model = 'sale.reconciliation.statement' AND mimetype != 'application/pdf'")
    kb=$(sql "$name" "SELECT ROUND(AVG(file_size) / 1024.0, 1) FROM ir_attachment WHERE res_model = 'sale.reconciliation.statement' AND mimetype = 'application/pdf'")
    assets=$(grep -c 'GET /web/assets/' "$log" || true)
    # A process of the server that fails at import (the long-polling one,
    # started again and again) takes a core from the run it measures.
    respawns=$(grep -c 'odoo_server.py", line [0-9]*, in <module>' "$log" || true)
    [ "$respawns" = 0 ] || fail "$name: a server process failed to start $respawns times: $(grep -m1 -E '^[a-z_.]+\.[A-Za-z]*(Error|NotFound): ' "$log")"
    echo "    run=$state sent=$sent mails=$mails pdfs=$pdfs html=$html pdf_kb=$kb asset_requests=$assets" >&2
    [ "$state" = done ] || fail "$name: the run ended $state"
    [ "$sent" -gt 0 ] && [ "$mails" = "$sent" ] && [ "$pdfs" = "$sent" ] && [ "$html" = 0 ] \
        || fail "$name: every statement sent needs one queued email and one PDF"
    [ "$assets" -gt 0 ] || fail "$name: wkhtmltopdf loaded no styles from $log"
    echo "$pdfs $kb"
}

echo "==> run in one process, one chunk of $CHUNK per transaction" >&2
copy "${db}_inprocess"
serve "${db}_inprocess" "$work/server_inprocess.log" --workers=0
measured=$(RUN_MODE=inprocess odoo shell -c "$work/odoo.cfg" -d "${db}_inprocess" \
    --no-http --log-level=warn <bench/measure_runs.py 2>"$work/measure.log" \
    | grep '^MEASURED ') || { tail -30 "$work/measure.log" >&2; fail "in-process run"; }
stop_server
checked=$(check "${db}_inprocess" "$work/server_inprocess.log")
read -r statements pdf_kb <<<"$checked"
echo "    $measured" >&2

# queue_run CAPACITY: the run by queue_job; sets queue_s and queue_rss_mb.
queue_run() {
    local capacity=$1 name="${db}_queue$1" log="$work/server_queue$1.log"
    local run_id started state rss deadline=$((SECONDS + RUN_TIMEOUT))
    queue_rss_mb=0
    copy "$name"
    ODOO_QUEUE_JOB_CHANNELS="root:$capacity,root.sale_reconciliation:$capacity" \
        serve "$name" "$log" --workers="$WORKERS" --load=base,web,queue_job \
        --limit-time-real=3600 --limit-time-cpu=3600
    started=$(RUN_MODE=start odoo shell -c "$work/odoo.cfg" -d "$name" \
        --no-http --log-level=warn <bench/measure_runs.py 2>"$work/start$capacity.log" \
        | grep '^STARTED ') || { tail -30 "$work/start$capacity.log" >&2; fail "start"; }
    read -r _ run_id started <<<"$started"
    cpu_before=$(cpu_jiffies)
    while :; do
        rss=$(rss_mb)
        [ "${rss:-0}" -gt "$queue_rss_mb" ] && queue_rss_mb=$rss
        state=$(sql "$name" "SELECT state FROM sale_reconciliation_statement_run WHERE id = $run_id")
        [ "$state" = running ] || break
        [ "$(sql "$name" "SELECT COUNT(*) FROM queue_job WHERE state = 'failed'")" = 0 ] \
            || fail "$name: a job failed: $(sql "$name" "SELECT exc_info FROM queue_job WHERE state = 'failed' LIMIT 1" | tail -5)"
        [ "$SECONDS" -lt "$deadline" ] || fail "$name: the run did not end in ${RUN_TIMEOUT}s"
        sleep 0.5
    done
    queue_s=$(awk -v now="$(date +%s.%N)" -v started="$started" \
        'BEGIN { printf "%.1f", now - started }')
    # How busy the machine's cores were during the run: the part of its
    # CPU time a second slot could still use.
    read -r busy_before idle_before <<<"$cpu_before"
    read -r busy_after idle_after <<<"$(cpu_jiffies)"
    queue_cpu_busy=$(awk -v b=$((busy_after - busy_before)) -v i=$((idle_after - idle_before)) \
        'BEGIN { printf "%.2f", b / (b + i) }')
    stop_server
    check "$name" "$log" >/dev/null
    # How the jobs ran: how many, how often retried, and how many at once
    # at most (each job's start against the others' spans). queue_job's
    # retry column counts the tries (1 for a job done at its first), and a
    # job postponed without counting it keeps an eta: the retries are the
    # tries after the first, plus those postponements.
    queue_retries=$(sql "$name" "SELECT COALESCE(SUM(GREATEST(retry - 1, 0)), 0) + COUNT(*) FILTER (WHERE eta IS NOT NULL AND retry <= 1) FROM queue_job")
    echo "    jobs: $(sql "$name" "SELECT COUNT(*) || ' jobs, ' || $queue_retries || ' retries, at most ' || COALESCE(MAX(overlap), 0) || ' at once' FROM (SELECT j.retry, (SELECT COUNT(*) FROM queue_job o WHERE o.date_started <= j.date_started AND o.date_done > j.date_started) AS overlap FROM queue_job j) jobs")" >&2
    # Each job: when it started (from the first), how long it took, what.
    sql "$name" "SELECT to_char(EXTRACT(EPOCH FROM date_started - MIN(date_started) OVER ()), 'FM9990.0') || 's ' || to_char(EXTRACT(EPOCH FROM date_done - date_started), 'FM9990.0') || 's ' || name FROM queue_job ORDER BY date_started" \
        | sed 's/^/      /' >&2
    dropdb "$name"
    rm -rf "$work/data/filestore/$name"
}
echo "==> run by queue_job, $WORKERS HTTP workers, channel capacity 1" >&2
queue_run 1
run_1worker_s=$queue_s rss_1=$queue_rss_mb retries_1=$queue_retries busy_1=$queue_cpu_busy
echo "==> run by queue_job, $WORKERS HTTP workers, channel capacity 2" >&2
queue_run 2
run_2workers_s=$queue_s rss_2=$queue_rss_mb retries_2=$queue_retries busy_2=$queue_cpu_busy

"$PYTHON" - "$measured" "$statements" "$pdf_kb" "$run_1worker_s" "$run_2workers_s" \
    "$rss_1" "$rss_2" "$((retries_1 + retries_2))" "$busy_1" "$busy_2" <<'PY'
import json
import os
import sys

measured = json.loads(sys.argv[1].split(" ", 1)[1])
statements, pdf_kb, one, two, rss_1, rss_2, retries, busy_1, busy_2 = sys.argv[2:]
figures = {
    "customers": int(os.environ["CUSTOMERS"]),
    "run_customers": measured["run_customers"],
    "run_statements": int(statements),
    "run_s": measured["run_s"],
    "run_max_txn_s": measured["run_max_txn_s"],
    "run_per_statement_s": measured["run_per_statement_s"],
    "pdf_kb": float(pdf_kb),
    "run_1worker_s": float(one),
    "run_2workers_s": float(two),
    "run_2workers_speedup": round(float(one) / float(two), 2),
    "run_max_rss_mb": max(int(rss_1), int(rss_2), measured["run_inprocess_rss_mb"]),
}
missing = [key for key, value in figures.items() if value in (None, 0, 0.0)]
# The jobs of both queue runs retried: 0 for a clean run.
figures["run_job_retries"] = int(retries)
# The machine's CPU busy during each queue run (0 to 1, every core counted):
# with one slot busy at b, two slots are at most 1 / b times faster.
figures["run_1worker_cpu_busy"] = float(busy_1)
figures["run_2workers_cpu_busy"] = float(busy_2)
if missing:
    sys.exit(f"ERROR: missing figures: {', '.join(missing)}")
print("RUNS " + " ".join(f"{k}={v}" for k, v in figures.items()))
PY
