# ruff: noqa: F821 - `env` is given by `odoo shell`
# Run inside `odoo shell` (stdin). Creates CUSTOMERS customer companies with
# an email address and, for the first SEED_CUSTOMERS of them, 10 posted
# invoices left unpaid, through Odoo's own documents. Seen from the bench's
# day (1 December 2026), the oldest invoice of seed customer j is OLDEST[j]
# days overdue and the others spread down to 1 day overdue: 10,000 overdue
# invoices once copied, customers due at each of the default levels (3, 15
# and 30 days). One seed customer in ten also paid, a week ago, as much as
# three of its invoices without the payment being matched (one customer
# in ten once copied): the follow-up sets it against them. Prints
# "SEEDED {json}".
import json
import os
import random
import time
from datetime import date, timedelta

from odoo import Command

TODAY = date(2026, 12, 1)
OLDEST = [4, 8, 12, 16, 20, 28, 35, 45, 60, 90]
rng = random.Random(20261201)
n_customers = int(os.environ.get("CUSTOMERS", "1000"))
n_seed = int(os.environ.get("SEED_CUSTOMERS", "10"))
start = time.perf_counter()
partners = env["res.partner"].create(
    [
        {
            "name": f"Follow-up Customer {i:04d}",
            "is_company": True,
            "email": f"followup.customer.{i:04d}@example.com",
        }
        for i in range(n_customers)
    ]
)


def invoice_vals(partner, age):
    due = TODAY - timedelta(days=age)
    return {
        "move_type": "out_invoice",
        "partner_id": partner.id,
        "invoice_date": due - timedelta(days=30),
        "invoice_date_due": due,
        "invoice_line_ids": [
            Command.create(
                {
                    "name": "Bench goods",
                    "quantity": 1,
                    "price_unit": rng.randrange(1000, 50000) / 100,
                    "tax_ids": [],
                }
            )
        ],
    }


for index, partner in enumerate(partners[:n_seed]):
    oldest = OLDEST[index % len(OLDEST)]
    invoices = env["account.move"].create(
        [invoice_vals(partner, 1 + (oldest - 1) * k // 9) for k in range(10)]
    )
    invoices.action_post()
    if index % 10 == len(OLDEST) - 1:
        payment = env["account.payment"].create(
            {
                "amount": sum(invoices[:3].mapped("amount_total")),
                "date": TODAY - timedelta(days=7),
                "payment_type": "inbound",
                "partner_type": "customer",
                "partner_id": partner.id,
            }
        )
        payment.action_post()
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
