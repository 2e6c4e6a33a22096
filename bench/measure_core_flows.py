# ruff: noqa: F821 - `env` is given by `odoo shell`
# Run inside `odoo shell` (stdin): one round of Odoo's own flows on fresh
# documents of CORE_CUSTOMERS new customers, each step timed alone:
# confirm CORE_ORDERS orders, post their invoices, register a payment on
# each invoice (Odoo's wizard, which reconciles it), and reconcile payments
# entered on account with their invoices (Odoo's reconcile()). Each step is
# timed up to what its commit would run (flush and pre-commit hooks, where
# modules put deferred work); the round is then rolled back, so every round
# starts from the same database.
# Prints "ROUND {json}".
import json
import os
import time

from odoo import Command

n_orders = int(os.environ.get("CORE_ORDERS", "100"))
n_customers = int(os.environ.get("CORE_CUSTOMERS", "10"))


def timed(function):
    env.flush_all()
    env.cr.precommit.run()
    start = time.perf_counter()
    function()
    env.flush_all()
    env.cr.precommit.run()
    return time.perf_counter() - start


customers = env["res.partner"].create(
    [{"name": f"Core Customer {i}", "is_company": True} for i in range(n_customers)]
)
product = env["product.product"].create(
    {
        "name": "Core goods",
        "type": "consu",
        "invoice_policy": "order",
        "list_price": 100.0,
        "taxes_id": False,
    }
)


def make_orders():
    return env["sale.order"].create(
        [
            {
                "partner_id": customers[i % n_customers].id,
                "order_line": [
                    Command.create({"product_id": product.id, "product_uom_qty": 2})
                ],
            }
            for i in range(n_orders)
        ]
    )


figures = {}
orders = make_orders()
figures["confirm_s"] = timed(orders.action_confirm)
invoices = orders._create_invoices(grouped=True)
figures["post_s"] = timed(invoices.action_post)
to_register = invoices[: n_orders // 2]


def register():
    for invoice in to_register:
        env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids
        ).create({})._create_payments()


figures["register_s"] = timed(register)
to_reconcile = invoices[n_orders // 2 :]
payments = env["account.payment"].create(
    [
        {
            "payment_type": "inbound",
            "partner_type": "customer",
            "partner_id": invoice.partner_id.id,
            "amount": invoice.amount_total,
        }
        for invoice in to_reconcile
    ]
)
payments.action_post()
pairs = [
    (
        payment.move_id.line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
        )
        | invoice.line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
        )
    )
    for payment, invoice in zip(payments, to_reconcile, strict=True)
]


def reconcile():
    for lines in pairs:
        lines.reconcile()


figures["reconcile_s"] = timed(reconcile)
env.cr.rollback()
print("ROUND " + json.dumps(figures))
