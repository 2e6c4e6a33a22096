# ruff: noqa: F821 - `env` is given by `odoo shell`
# Run inside `odoo shell` (stdin). Creates CUSTOMERS customer companies and,
# for the first SEED_CUSTOMERS of them, 10 posted invoices and 8 posted
# payments matched with nothing, through Odoo's own documents:
# 2 payments naming their invoice in the memo, 3 of one invoice's exact
# amount, 1 of the exact sum of two invoices, 2 on account (left to FIFO).
# Prints "SEEDED {json}".
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
        {"name": f"Matching Customer {i:04d}", "is_company": True}
        for i in range(n_customers)
    ]
)
seed = partners[:n_seed]
first_day = date(2026, 9, 1)


def invoice_vals(partner, index):
    when = first_day + timedelta(days=index * 5)
    return {
        "move_type": "out_invoice",
        "partner_id": partner.id,
        "invoice_date": when,
        "invoice_date_due": when + timedelta(days=30),
        "invoice_line_ids": [
            Command.create(
                {
                    "name": "Bench goods",
                    "quantity": 1,
                    # distinct amounts, so "exact amount" is unambiguous
                    "price_unit": 100 * (index + 1) + rng.randrange(1, 99) / 100,
                    "tax_ids": [],
                }
            )
        ],
    }


def payment_vals(partner, amount, memo=None):
    return {
        "partner_id": partner.id,
        "payment_type": "inbound",
        "partner_type": "customer",
        "amount": amount,
        "date": date(2026, 11, 1),
        "memo": memo,
    }


for partner in seed:
    invoices = env["account.move"].create([invoice_vals(partner, i) for i in range(10)])
    invoices.action_post()
    amounts = invoices.mapped("amount_total")
    payments = env["account.payment"].create(
        [
            payment_vals(partner, amounts[0], f"Payment {invoices[0].name}"),
            payment_vals(partner, amounts[1], f"re: {invoices[1].name.lower()}"),
            payment_vals(partner, amounts[2]),
            payment_vals(partner, amounts[3]),
            payment_vals(partner, amounts[4]),
            payment_vals(partner, round(amounts[5] + amounts[6], 2)),
            payment_vals(partner, round(amounts[7] / 3, 2)),
            payment_vals(partner, round(amounts[8] / 4, 2)),
        ]
    )
    payments.action_post()
env.cr.commit()
print(
    "SEEDED "
    + json.dumps(
        {
            "customers": n_customers,
            "seed_customers": n_seed,
            "seconds": round(time.perf_counter() - start, 1),
        }
    )
)
