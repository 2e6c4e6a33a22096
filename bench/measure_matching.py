# ruff: noqa: F821 - `env` is given by `odoo shell`
# Run inside `odoo shell` (stdin) on the database of matching_at_scale.sh.
# Measures, in one run: the wizard's preview over every customer, then, for
# the proposed groups, Odoo's own reconcile() called group by group (rolled
# back), then the wizard's apply of the same proposals. Each timing ends
# with what a commit runs first (env.cr.flush(): the ORM's flush and the
# precommit hooks, among them Odoo's tracking messages of the invoices
# paid): Odoo's reconcile() committed does that work too, and the wizard's
# savepoints do it as they go. Then, committed, the scheduled matching
# (reference and amount rules) called as Odoo's cron worker calls it, once
# per chunk of customers while some remain: each call is a transaction,
# the longest printed as match_max_txn_s. Prints "MEASURED {json}".
import json
import time

MoveLine = env["account.move.line"]
receivable_open = [
    ("account_id.account_type", "=", "asset_receivable"),
    ("parent_state", "=", "posted"),
    ("reconciled", "=", False),
]
open_invoices = MoveLine.search_count(receivable_open + [("balance", ">", 0)])
open_payments = MoveLine.search_count(receivable_open + [("balance", "<", 0)])
customers = len(MoveLine._read_group(receivable_open, ["partner_id"]))

start = time.perf_counter()
wizard = env["sale.reconciliation.match"].create({})
wizard.action_preview()
env.cr.flush()
preview_s = time.perf_counter() - start
groups = [line.credit_line_id | line.debit_line_ids for line in wizard.line_ids]
rules = {}
for line in wizard.line_ids:
    rules[line.rule] = rules.get(line.rule, 0) + 1

env.cr.execute("SAVEPOINT core_reconcile")
start = time.perf_counter()
for group in groups:
    group.reconcile()
env.cr.flush()
core_s = time.perf_counter() - start
env.cr.execute("ROLLBACK TO SAVEPOINT core_reconcile")
env.invalidate_all()
env.cr.precommit.clear()
env.registry.clear_cache()

start = time.perf_counter()
wizard.action_apply()
env.cr.flush()
apply_s = time.perf_counter() - start
matched = MoveLine.search_count(receivable_open + [("balance", "<", 0)])
env.cr.rollback()

cron = env.ref("sale_reconciliation.ir_cron_match_payments")
transactions = []
start = time.perf_counter()
while len(transactions) < 10000:
    _cron, progress = cron._add_progress()
    env.cr.commit()
    started = time.perf_counter()
    env["sale.reconciliation.match"].with_context(
        ir_cron_progress_id=progress.id
    )._cron_match()
    env.cr.commit()
    transactions.append(time.perf_counter() - started)
    if not progress.remaining:
        break
cron_s = time.perf_counter() - start
runs = env["sale.reconciliation.match.run"].search([])
print(
    "MEASURED "
    + json.dumps(
        {
            "match_invoices": open_invoices,
            "match_payments": open_payments,
            "match_customers": customers,
            "match_proposals": len(groups),
            "match_by_reference": rules.get("reference", 0),
            "match_by_amount": rules.get("amount", 0),
            "match_by_combination": rules.get("combination", 0),
            "match_payments_left": matched,
            "match_preview_s": round(preview_s, 2),
            "match_apply_s": round(apply_s, 2),
            "match_core_reconcile_s": round(core_s, 2),
            "match_ratio": round((preview_s + apply_s) / core_s, 2),
            "match_cron_matched": sum(runs.mapped("matched_count")),
            "match_cron_customers_failed": sum(runs.mapped("failed_count")),
            "match_cron_chunks": len(transactions),
            "match_cron_s": round(cron_s, 2),
            "match_max_txn_s": round(max(transactions), 2),
        }
    )
)
