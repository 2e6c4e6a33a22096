# ruff: noqa: F821 - `env` is given by `odoo shell`
# Run inside `odoo shell` (stdin) on the database of followup_at_scale.sh.
# Times, as medians of 5 runs on the bench's day (1 December 2026): finding
# who is due for which level (the grouped query behind the follow-up list
# and run, through the model method) against its floor, one plain SQL
# aggregate of the same receivable items per customer. Then the day's
# follow-up run: started, then processed chunk by chunk, each chunk
# committed as the scheduled action does, timing every transaction. The
# levels' PDF attachments and letters are switched off for the run: what is
# measured is the follow-up's own work (history, email queued, chatter,
# activities, holds); a PDF costs one wkhtmltopdf call whatever the module.
# Prints "MEASURED {json}". The database is thrown away afterwards.
import json
import statistics
import time
from datetime import date

TODAY = date(2026, 12, 1)
REPEAT = 5
company = env.company
Profile = env["sale.reconciliation.credit.profile"].with_company(company)
Level = env["sale.reconciliation.followup.level"]
Run = env["sale.reconciliation.followup.run"]


def median_time(run):
    times = []
    result = None
    for _attempt in range(REPEAT):
        env.invalidate_all()
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


floor_s, floor_rows = median_time(lambda: Profile._followup_floor_query(company, TODAY))
followup_s, figures = median_time(lambda: Profile._followup_query(company, TODAY))
levels = Level.search([("company_id", "=", company.id)])
per_level = {
    f"followup_due_{level.days}d": sum(
        1 for v in figures.values() if v["due_level_id"] == level.id
    )
    for level in levels
}
# The floor adds up the overdue items before any credit: so does the
# follow-up's gross figure; its net one is less by the credits.
overdue = sum(v["overdue_gross_amount"] for v in figures.values())
overdue_net = sum(v["overdue_amount"] for v in figures.values())
with_credits = sum(1 for v in figures.values() if v["credit_amount"])
floor_overdue = sum(float(row[1]) for row in floor_rows)
items = env["account.move.line"].search_count(
    [
        ("account_type", "=", "asset_receivable"),
        ("parent_state", "=", "posted"),
        ("reconciled", "=", False),
        ("date_maturity", "<", TODAY),
    ]
)

levels.write({"attachment_type": "none", "print_letter": False})
env.cr.commit()
chunk = Run._get_chunk_size()
txn = []
start = time.perf_counter()
run = Run._start(company, TODAY)
env.cr.commit()
txn.append(time.perf_counter() - start)
while True:
    chunk_start = time.perf_counter()
    processed = run._process_chunk(chunk)
    if processed is None:
        run._finish()
    env.cr.commit()
    txn.append(time.perf_counter() - chunk_start)
    if processed is None:
        break
run_s = time.perf_counter() - start
run.invalidate_recordset()
print(
    "MEASURED "
    + json.dumps(
        {
            "followup_customers": len(figures),
            "followup_overdue_items": items,
            **per_level,
            "followup_overdue_matches_floor": round(overdue, 2)
            == round(floor_overdue, 2),
            "followup_customers_with_credits": with_credits,
            "followup_overdue_net_share": round(overdue_net / overdue, 3),
            "followup_s": round(followup_s, 3),
            "followup_floor_s": round(floor_s, 3),
            "followup_ratio": round(followup_s / floor_s, 2),
            "followup_run_reminders": run.sent_count,
            "followup_run_failed": run.failed_count,
            "followup_run_chunk": chunk,
            "followup_run_s": round(run_s, 1),
            "followup_run_max_txn_s": round(max(txn), 2),
            "followup_mail_queued": env["mail.mail"].search_count([]),
        }
    )
)
