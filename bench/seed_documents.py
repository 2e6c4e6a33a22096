# ruff: noqa: F821 - `env` is given by `odoo shell`
# Run inside `odoo shell` (stdin): SEED_ORDERS confirmed orders of one company,
# delivered and invoiced through Odoo's own flows, 60% paid in full, 20% paid
# in part, the rest unpaid. Prints "SEEDED <invoices>".
import json
import os
import time

from odoo import Command

n_orders = int(os.environ.get("SEED_ORDERS", "200"))
customers = env["res.partner"].create(
    [{"name": f"Bench Customer {i}", "is_company": True} for i in range(20)]
)
products = env["product.product"].create(
    [
        {
            "name": "Bench goods (delivery)",
            "type": "consu",
            "invoice_policy": "delivery",
            "list_price": 100.0,
            "taxes_id": False,
        },
        {
            "name": "Bench goods (order)",
            "type": "consu",
            "invoice_policy": "order",
            "list_price": 40.0,
            "taxes_id": False,
        },
    ]
)
orders = env["sale.order"].create(
    [
        {
            "partner_id": customers[i % len(customers)].id,
            "order_line": [
                Command.create({"product_id": products[0].id, "product_uom_qty": 2}),
                Command.create({"product_id": products[1].id, "product_uom_qty": 3}),
            ],
        }
        for i in range(n_orders)
    ]
)
timings = {}
start = time.perf_counter()
orders.action_confirm()
timings["confirm_s"] = time.perf_counter() - start
for line in orders.order_line:
    line.qty_delivered = line.product_uom_qty
invoices = orders._create_invoices(grouped=True)
start = time.perf_counter()
invoices.action_post()
env.flush_all()
timings["post_invoices_s"] = time.perf_counter() - start
start = time.perf_counter()
for index, invoice in enumerate(invoices):
    share = index % 5
    if share >= 2:
        amount = invoice.amount_total if share > 2 else invoice.amount_total / 2
        env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids
        ).create({"amount": amount})._create_payments()
env.flush_all()
timings["register_payments_s"] = time.perf_counter() - start
env.cr.commit()
print("SEEDED " + json.dumps({"invoices": len(invoices), **timings}))
