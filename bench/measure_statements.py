# ruff: noqa: F821 - `env` is given by `odoo shell`
# Run inside `odoo shell` (stdin) on a database seeded by seed_ledger.py and
# multiplied by clone_documents.sql. Times, as medians of 3 runs: generating
# October 2026's statements of all customers and of half of them, rendering
# 100 of them to HTML, exporting all of them to XLSX, and the floor: one SQL
# query over account_move_line giving every customer's opening balance,
# period items with running balance, and closing balance. Then the aged
# receivables of all customers as of the period end against their floor: one
# SQL aggregate of the same receivable items per customer. Prints
# "MEASURED {json}". Rolls everything back.
import json
import resource
import statistics
import time
from datetime import date

from odoo.tools import SQL

DATE_FROM, DATE_TO = date(2026, 10, 1), date(2026, 10, 31)
Statement = env["sale.reconciliation.statement"]
customers = env["res.partner"].search(
    [("name", "=like", "Statement Customer %")], order="id"
)


def median_of_3(run, reset=None, keep_last=False):
    """Median time of 3 runs; ``reset`` undoes a run (all but the last one
    with ``keep_last``)."""
    times = []
    result = None
    for attempt in range(3):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
        if reset and not (keep_last and attempt == 2):
            reset(result)
    return statistics.median(times), result


def drop(result):
    statements = result[0]
    env.flush_all()
    env.cr.execute(
        SQL(
            "DELETE FROM sale_reconciliation_statement WHERE id = ANY(%s)",
            statements.ids,
        )
    )
    env.invalidate_all()


FLOOR = SQL(
    """
    SELECT partner_id, id, date, balance, running - balance AS before, running
      FROM (
          SELECT partner.commercial_partner_id AS partner_id, aml.id, aml.date,
                 aml.balance,
                 SUM(aml.balance) OVER (
                     PARTITION BY partner.commercial_partner_id
                     ORDER BY aml.date, aml.move_id, aml.id) AS running
            FROM account_move_line aml
            JOIN res_partner partner ON partner.id = aml.partner_id
            JOIN account_account account ON account.id = aml.account_id
           WHERE account.account_type = 'asset_receivable'
             AND aml.parent_state = 'posted'
             AND aml.company_id = %(company)s
             AND aml.date <= %(date_to)s
      ) items
     WHERE date >= %(date_from)s
    """,
    company=env.company.id,
    date_from=DATE_FROM,
    date_to=DATE_TO,
)


def floor():
    env.cr.execute(FLOOR)
    return env.cr.fetchall()


floor_s, floor_rows = median_of_3(floor)
half = customers[: len(customers) // 2]
half_s, _result = median_of_3(
    lambda: Statement._generate_statements(DATE_FROM, DATE_TO, partners=half), drop
)
gen_s, (statements, skipped) = median_of_3(
    lambda: Statement._generate_statements(DATE_FROM, DATE_TO), drop, keep_last=True
)
line_count = env["sale.reconciliation.statement.line"].search_count(
    [("statement_id", "in", statements.ids)]
)
env.invalidate_all()
html_s, _html = median_of_3(
    lambda: env["ir.actions.report"]._render_qweb_html(
        "sale_reconciliation.report_statement", statements[:100].ids
    )
)
env.invalidate_all()
xlsx_s, xlsx = median_of_3(lambda: statements._export_xlsx_bytes())
AGING_FLOOR = SQL(
    """
    SELECT partner.commercial_partner_id, SUM(aml.balance)
      FROM account_move_line aml
      JOIN account_account account ON account.id = aml.account_id
                                  AND account.account_type = 'asset_receivable'
      JOIN res_partner partner ON partner.id = aml.partner_id
     WHERE aml.company_id = %(company_id)s
       AND aml.parent_state = 'posted'
       AND aml.date <= %(date)s
     GROUP BY partner.commercial_partner_id
    """,
    company_id=env.company.id,
    date=DATE_TO,
)


def aging_floor():
    env.cr.execute(AGING_FLOOR)
    return env.cr.fetchall()


def aging():
    """What the pivot shows: every customer's amount in every bucket."""
    report = env["sale.reconciliation.aging"].create({"date": DATE_TO})
    report._compute_aging()
    return report, report._get_matrix()


aging_floor_s, aging_floor_rows = median_of_3(aging_floor)
aging_s, (aging_report, aging_matrix) = median_of_3(aging)
aging_lines = sum(len(buckets) for buckets in aging_matrix.values())
aging_total = sum(sum(buckets.values()) for buckets in aging_matrix.values())
aging_floor_total = sum(row[1] for row in aging_floor_rows)
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
items = env["account.move.line"].search_count(
    [("account_type", "=", "asset_receivable"), ("parent_state", "=", "posted")]
)
print(
    "MEASURED "
    + json.dumps(
        {
            "customers": len(customers),
            "receivable_items": items,
            "statements": len(statements),
            "statement_lines": line_count,
            "skipped": len(skipped),
            "floor_rows": len(floor_rows),
            "statements_gen_s": round(gen_s, 3),
            "statements_gen_half_s": round(half_s, 3),
            "floor_s": round(floor_s, 3),
            "gen_floor_ratio": round(gen_s / floor_s, 1),
            "html100_s": round(html_s, 3),
            "xlsx_s": round(xlsx_s, 3),
            "xlsx_mb": round(len(xlsx) / 1e6, 1),
            "peak_mb": round(peak_mb),
            "aging_lines": aging_lines,
            "aging_total_matches_floor": round(aging_total, 2)
            == round(float(aging_floor_total), 2),
            "aging_s": round(aging_s, 3),
            "aging_floor_s": round(aging_floor_s, 3),
            "aging_floor_ratio": round(aging_s / aging_floor_s, 2),
        }
    )
)
env.cr.rollback()
