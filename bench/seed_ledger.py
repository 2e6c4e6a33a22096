# ruff: noqa: F821 - `env` is given by `odoo shell`
# Run inside `odoo shell` (stdin). Creates CUSTOMERS customer companies and,
# for the first SEED_CUSTOMERS of them, three months (August to October 2026)
# of receivable activity through Odoo's own documents: each month 15
# invoices, 3 credit notes, 6 invoices paid in full, 5 in part, and 5
# payments on account (34 items a customer a month). Prints
# "SEEDED {json}".
import json
import os
import random
import time
from datetime import date, timedelta

from odoo import Command

rng = random.Random(20261122)
n_customers = int(os.environ.get("CUSTOMERS", "1000"))
n_seed = int(os.environ.get("SEED_CUSTOMERS", "10"))
start = time.perf_counter()
partners = env["res.partner"].create(
    [
        {"name": f"Statement Customer {i:04d}", "is_company": True}
        for i in range(n_customers)
    ]
)
seed = partners[:n_seed]
months = [date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)]
receivable_type = "asset_receivable"


def day_in(month):
    return month + timedelta(days=rng.randrange(0, 28))


def move_vals(partner, move_type, month):
    when = day_in(month)
    return {
        "move_type": move_type,
        "partner_id": partner.id,
        "invoice_date": when,
        "invoice_date_due": when + timedelta(days=30),
        "invoice_line_ids": [
            Command.create(
                {
                    "name": "Bench goods",
                    "quantity": rng.randrange(1, 10),
                    "price_unit": rng.randrange(1000, 50000) / 100,
                    "tax_ids": [],
                }
            )
        ],
    }


def receivable(move):
    return move.line_ids.filtered(lambda line: line.account_type == receivable_type)


for partner in seed:
    for month in months:
        invoices = env["account.move"].create(
            [move_vals(partner, "out_invoice", month) for _i in range(15)]
        )
        refunds = env["account.move"].create(
            [move_vals(partner, "out_refund", month) for _i in range(3)]
        )
        (invoices + refunds).action_post()
        full, partial = invoices[:6], invoices[6:11]
        payment_vals = (
            [
                {
                    "partner_id": partner.id,
                    "payment_type": "inbound",
                    "partner_type": "customer",
                    "amount": invoice.amount_total,
                    "date": invoice.invoice_date + timedelta(days=rng.randrange(0, 3)),
                }
                for invoice in full
            ]
            + [
                {
                    "partner_id": partner.id,
                    "payment_type": "inbound",
                    "partner_type": "customer",
                    "amount": round(invoice.amount_total / 2, 2),
                    "date": invoice.invoice_date + timedelta(days=rng.randrange(0, 3)),
                }
                for invoice in partial
            ]
            + [
                {
                    "partner_id": partner.id,
                    "payment_type": "inbound",
                    "partner_type": "customer",
                    "amount": rng.randrange(1000, 20000) / 100,
                    "date": day_in(month),
                }
                for _i in range(5)
            ]
        )
        payments = env["account.payment"].create(payment_vals)
        payments.action_post()
        for invoice, payment in zip(full + partial, payments, strict=False):
            (receivable(invoice) + receivable(payment.move_id)).reconcile()
env.cr.commit()
items = env["account.move.line"].search_count(
    [("account_type", "=", receivable_type), ("parent_state", "=", "posted")]
)
print(
    "SEEDED "
    + json.dumps(
        {
            "customers": n_customers,
            "seed_customers": n_seed,
            "seed_items": items,
            "first_partner_id": partners[0].id,
            "seconds": round(time.perf_counter() - start, 1),
        }
    )
)
