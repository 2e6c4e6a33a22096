"""The module installs with demo data, upgrades and uninstalls cleanly.

Runs Odoo in subprocesses on a database of its own, created and dropped
here, with the configuration ``make test`` writes
(``SALE_RECONCILIATION_ODOO_CFG``).
"""

import os
import re
import subprocess
import sys
import uuid

import pytest

MODULE = "sale_reconciliation"
PROBLEM_LINE = re.compile(r"^\S+ \S+ \d+ (WARNING|ERROR|CRITICAL) ", re.MULTILINE)
# Warnings Odoo itself logs on any database, unrelated to this module.
KNOWN_ODOO_WARNINGS = ("Running as user 'root'",)

STATUS_CHECK = """
import json
checks = {
    "sale.order": ["reconciliation_state", "reconciliation_amount_invoiced",
                   "reconciliation_amount_paid", "reconciliation_amount_due"],
    "account.move": ["reconciliation_state"],
    "account.payment": ["reconciliation_state", "reconciliation_amount_unallocated"],
}
report = {}
for model_name, fnames in checks.items():
    records = env[model_name].with_context(active_test=False).search([])
    stored = records.read(fnames)
    for fname in fnames:
        env.add_to_compute(records._fields[fname], records)
    env.flush_all()
    env.invalidate_all()
    recomputed = records.read(fnames)
    report[model_name] = {
        "count": len(records),
        "differ": [s for s, r in zip(stored, recomputed) if s != r],
        "states": sorted({s["reconciliation_state"] for s in stored}),
    }
env.cr.rollback()
print("STATUS-CHECK " + json.dumps(report))
"""

DEMO_STORY = """
import json
from dateutil.relativedelta import relativedelta
from odoo import fields
today = fields.Date.context_today(env["res.users"].browse(2))
orders = env["sale.order"].search([])
statements = env["sale.reconciliation.statement"].search([])
periods = env["sale.reconciliation.period"].search([])
closed = periods.filtered(lambda period: period.state == "closed")
approvals = env["sale.reconciliation.credit.approval"].search([])
profiles = env["sale.reconciliation.credit.profile"].search([])
moves = env["account.move"].search([("move_type", "in", ("out_invoice", "out_refund"))])
payments = env["account.payment"].search([("partner_type", "=", "customer")])
reasons = "\\n".join(orders.filtered("reconciliation_mismatch_reasons").mapped(
    "reconciliation_mismatch_reasons"))
story = {
    "order_states": sorted(set(orders.mapped("reconciliation_state"))),
    "mismatch_kinds": [
        kind for kind, text in [
            ("over_invoiced", "invoiced on delivered quantities"),
            ("price", "differs from"),
            ("overpayment", "Overpayment"),
            ("quantities", "fully delivered and invoiced"),
        ] if text in reasons
    ],
    "invoice_states": sorted(set(moves.mapped("reconciliation_state"))),
    "has_credit_note": bool(moves.filtered(
        lambda move: move.move_type == "out_refund"
        and move.invoice_line_ids.sale_line_ids)),
    "payment_states": sorted(set(payments.mapped("reconciliation_state"))),
    "statement_states": sorted(set(statements.mapped("state"))),
    "accepted_hashes_valid": [
        statement._is_content_hash_valid()
        for statement in statements.filtered(lambda s: s.state == "accepted")
    ],
    "disputed_line_comments": sum(
        statements.filtered(lambda s: s.state == "disputed").mapped(
            "dispute_line_count"
        )
    ),
    "closed_periods": len(closed),
    "closed_summary_lines": len(closed.summary_line_ids),
    "lock_date_is_closed_period_end": (
        env.company.sale_lock_date == max(closed.mapped("date_to"))
    ),
    "pending_approval_on_blocked_quotation": [
        (order.state, bool(order._get_credit_check_message()))
        for order in approvals.filtered(lambda a: a.state == "requested").order_id
    ],
    "ratings": sorted(set(profiles.mapped("credit_rating")) - {False}),
    "salespeople": len(orders.filtered(
        lambda order: order.reconciliation_state not in ("none",)).user_id),
    "latest_statement_ends_last_month": max(statements.mapped("date_to"))
        == today + relativedelta(day=1, days=-1),
    "orders_span_three_months": (
        min(orders.filtered(lambda o: o.state == "sale").mapped("date_order")).date()
        <= today + relativedelta(months=-3, day=31)
    ),
}
env.cr.rollback()
print("DEMO-STORY " + json.dumps(story))
"""

UNINSTALL = (
    """
module = env["ir.module.module"].search([("name", "=", "%s")])
module.button_immediate_uninstall()
env.cr.commit()
"""
    % MODULE
)

LEFTOVERS = (
    """
import json
env.cr.execute(
    "SELECT column_name FROM information_schema.columns"
    " WHERE table_name IN ('sale_order', 'account_move', 'account_payment')"
    " AND column_name LIKE 'reconciliation%%'"
)
columns = [row[0] for row in env.cr.fetchall()]
env.cr.execute(
    "SELECT table_name FROM information_schema.tables"
    " WHERE table_name LIKE 'sale_reconciliation%%'"
)
tables = [row[0] for row in env.cr.fetchall()]
xmlids = env["ir.model.data"].search_count([("module", "=", "%s")])
print("LEFTOVERS " + json.dumps(
    {"columns": columns, "tables": tables, "xmlids": xmlids}
))
"""
    % MODULE
)


def odoo(*args, stdin=None):
    config = os.environ.get("SALE_RECONCILIATION_ODOO_CFG")
    if not config:
        pytest.fail(
            "SALE_RECONCILIATION_ODOO_CFG is not set: run this through `make test`"
        )
    result = subprocess.run(
        [sys.executable, "-m", "odoo", *args, "-c", config],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


def problems(log):
    return [
        line
        for line in log.splitlines()
        if PROBLEM_LINE.match(line)
        and not any(known in line for known in KNOWN_ODOO_WARNINGS)
    ]


def tagged_json(output, tag):
    import json

    for line in output.splitlines():
        if line.startswith(tag + " "):
            return json.loads(line[len(tag) + 1 :])
    pytest.fail(f"no {tag} line in the output:\n{output[-3000:]}")


@pytest.fixture(scope="module")
def demo_db():
    name = f"sale_reconciliation_lifecycle_{uuid.uuid4().hex[:8]}"
    rc, log = odoo(
        "-d", name, "-i", MODULE, "--stop-after-init", "--no-http", "--log-level=warn"
    )
    try:
        assert rc == 0, log[-5000:]
        assert problems(log) == []
        yield name
    finally:
        subprocess.run(["dropdb", "--if-exists", name], check=False)


def test_install_with_demo_data_fills_every_status(demo_db):
    rc, output = odoo(
        "shell", "-d", demo_db, "--no-http", "--log-level=warn", stdin=STATUS_CHECK
    )
    assert rc == 0, output[-5000:]
    report = tagged_json(output, "STATUS-CHECK")
    assert report["sale.order"]["count"] > 0
    assert report["account.move"]["count"] > 0
    for model_name, figures in report.items():
        assert figures["differ"] == [], model_name
    # The demo shows more than one status on orders.
    assert len(report["sale.order"]["states"]) > 1, report["sale.order"]


def test_demo_data_tells_the_story(demo_db):
    rc, output = odoo(
        "shell", "-d", demo_db, "--no-http", "--log-level=warn", stdin=DEMO_STORY
    )
    assert rc == 0, output[-5000:]
    assert tagged_json(output, "DEMO-STORY") == {
        "order_states": ["mismatch", "none", "open", "reconciled"],
        "mismatch_kinds": ["over_invoiced", "price", "overpayment", "quantities"],
        "invoice_states": ["open", "partial", "reconciled"],
        "has_credit_note": True,
        "payment_states": ["matched", "partial", "unmatched"],
        "statement_states": [
            "accepted",
            "cancel",
            "confirmed",
            "disputed",
            "draft",
            "sent",
        ],
        "accepted_hashes_valid": [True],
        "disputed_line_comments": 1,
        "closed_periods": 1,
        "closed_summary_lines": 4,
        "lock_date_is_closed_period_end": True,
        "pending_approval_on_blocked_quotation": [["draft", True]],
        "ratings": ["a", "b", "c", "d"],
        "salespeople": 2,
        "latest_statement_ends_last_month": True,
        "orders_span_three_months": True,
    }


def test_upgrade(demo_db):
    rc, log = odoo(
        "-d",
        demo_db,
        "-u",
        MODULE,
        "--stop-after-init",
        "--no-http",
        "--log-level=warn",
    )
    assert rc == 0, log[-5000:]
    assert problems(log) == []


def test_uninstall_leaves_nothing_behind(demo_db):
    rc, log = odoo(
        "shell", "-d", demo_db, "--no-http", "--log-level=warn", stdin=UNINSTALL
    )
    assert rc == 0, log[-5000:]
    assert problems(log) == []
    rc, output = odoo(
        "shell", "-d", demo_db, "--no-http", "--log-level=warn", stdin=LEFTOVERS
    )
    assert rc == 0, output[-5000:]
    assert tagged_json(output, "LEFTOVERS") == {
        "columns": [],
        "tables": [],
        "xmlids": 0,
    }
