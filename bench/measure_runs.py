# ruff: noqa: F821 - `env` is given by `odoo shell`
# Run inside `odoo shell` (stdin) on a database seeded by seed_ledger.py and
# multiplied by clone_documents.sql, with an Odoo serving HTTP at
# web.base.url (wkhtmltopdf loads the report's styles from it).
#
# RUN_MODE=start: start a statement run (October 2026, generate + confirm +
#   send) of all customers, or of the first RUN_CUSTOMERS when fewer, and
#   commit; print "STARTED <run id> <epoch>".
#   Workers elsewhere (queue_job) process it.
# RUN_MODE=inprocess: the same run, processed here the way the scheduled
#   action does, one chunk per call and per transaction (each committed),
#   every transaction timed. Prints "MEASURED {json}".
import json
import os
import resource
import time
from datetime import date

DATE_FROM, DATE_TO = date(2026, 10, 1), date(2026, 10, 31)
Run = env["sale.reconciliation.statement.run"]


def start_run():
    customers = env["res.partner"].search(
        [("name", "=like", "Statement Customer %")], order="id"
    )
    wanted = int(os.environ.get("RUN_CUSTOMERS") or len(customers))
    scope = {"customer_scope": "all"}
    if wanted < len(customers):
        scope = {"customer_scope": "selected", "partner_ids": customers[:wanted].ids}
    run = Run.create(
        {"date_from": DATE_FROM, "date_to": DATE_TO, "operation": "send", **scope}
    )
    run.action_start()
    return run


if os.environ["RUN_MODE"] == "start":
    started = time.time()
    run = start_run()
    env.cr.commit()
    print(f"STARTED {run.id} {started:.3f}")
else:
    transactions = []
    start = time.perf_counter()
    run = start_run()
    env.cr.commit()
    transactions.append(time.perf_counter() - start)
    while run.state == "running":
        began = time.perf_counter()
        done = Run._cron_process_runs()
        env.cr.commit()
        transactions.append(time.perf_counter() - began)
        env.invalidate_all()
        if not done and run.state == "running":
            raise SystemExit(f"run {run.id} is stuck: {Run._count_open_lines(run)}")
    run_s = time.perf_counter() - start
    sent = run.sent_count
    print(
        "MEASURED "
        + json.dumps(
            {
                "run_id": run.id,
                "run_state": run.state,
                "run_customers": run.customer_count,
                "run_sent": sent,
                "run_failed": run.failed_count,
                "run_transactions": len(transactions),
                "run_s": round(run_s, 1),
                "run_max_txn_s": round(max(transactions), 1),
                "run_per_statement_s": round(run_s / sent, 3) if sent else None,
                "run_inprocess_rss_mb": round(
                    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                ),
            }
        )
    )
