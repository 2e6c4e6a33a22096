"""What the module costs Odoo's own flows, measured step by step.

    python3 bench/measure_core_flows.py ODOO_CFG DB_WITHOUT DB_WITH

Both databases are opened in this one process. A round runs, on fresh
documents of CORE_CUSTOMERS new customers in each database, Odoo's own flows:
confirm CORE_ORDERS orders, post their invoices, register a payment on half
of them (Odoo's wizard, which reconciles it) and reconcile payments entered
on account with the other half (Odoo's reconcile()). The two databases take
turns step by step (confirm without, confirm with, post without, ...; the
side that goes first alternates with the rounds), so a slower moment of the
machine weighs on both sides alike. Within a step, the documents are done in
CORE_SLICES slices, the two sides taking turns slice by slice (the side that
goes first alternating too), so that the machine's swings of a few seconds
(the same step on the same database varies by a fifth from one try to the
next here) fall on both sides alike; each side's time of the step is the sum
of its slices. Each slice is timed up to what its commit
would run (flush and pre-commit hooks, where modules put deferred work); the
round is then rolled back and both databases vacuumed, so every round starts
from the same databases: the rolled-back rows are dead rows until a VACUUM
(autovacuum is off on the benchmark machine), and PostgreSQL sizes tables,
hence picks its plans, by their pages. Without it, the side that writes more
rows grew faster, and some of Odoo's queries switched to other plans (a
parallel one for the payment status, 10 ms instead of 0.5) on one side only,
a few rounds in.

A first round on CORE_WARMUP_ORDERS orders is not counted: the figures are
those of a server already running (registry caches and trigger trees
filled), not of the first request after a start.

Prints one line per round, "ROUND {json}", with "<step>_without_s" and
"<step>_with_s".
"""

import gc
import json
import os
import sys
import time
from contextlib import closing

import psycopg2

import odoo
from odoo import SUPERUSER_ID, Command, api
from odoo.modules.registry import Registry

STEPS = ("confirm", "post", "register", "reconcile")

n_orders = int(os.environ.get("CORE_ORDERS", "100"))
n_customers = int(os.environ.get("CORE_CUSTOMERS", "10"))
n_warmup_orders = int(os.environ.get("CORE_WARMUP_ORDERS", "10"))
n_rounds = int(os.environ.get("ROUNDS", "5"))
n_slices = int(os.environ.get("CORE_SLICES", "5"))


def slices(records):
    """``records`` cut in n_slices parts as equal as they can be."""
    size, extra = divmod(len(records), n_slices)
    start = 0
    for index in range(n_slices):
        end = start + size + (1 if index < extra else 0)
        yield records[start:end]
        start = end


def timed(env, function):
    env.flush_all()
    env.cr.precommit.run()
    # Both databases share this process: the garbage one side's step left is
    # collected now, not in the middle of the other side's step.
    gc.collect()
    start = time.perf_counter()
    function()
    env.flush_all()
    env.cr.precommit.run()
    return time.perf_counter() - start


def flows(env, n_orders):
    """Yield the time of each slice of each step of STEPS, in turn."""
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
    orders = env["sale.order"].create(
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
    for part in slices(orders):
        yield timed(env, part.action_confirm)

    invoices = orders._create_invoices(grouped=True)
    for part in slices(invoices):
        yield timed(env, part.action_post)

    to_register = invoices[: n_orders // 2]

    def register(part):
        for invoice in part:
            env["account.payment.register"].with_context(
                active_model="account.move", active_ids=invoice.ids
            ).create({})._create_payments()

    for part in slices(to_register):
        yield timed(env, lambda part=part: register(part))

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

    def receivable(move):
        return move.line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
        )

    pairs = [
        receivable(payment.move_id) | receivable(invoice)
        for payment, invoice in zip(payments, to_reconcile, strict=True)
    ]

    def reconcile(part):
        for lines in part:
            lines.reconcile()

    for index in range(n_slices):
        yield timed(env, lambda index=index: reconcile(pairs[index::n_slices]))


def run_round(registries, n_orders, first):
    """One round on both databases, taking turns slice by slice; ``first``
    is the side that starts each step. Returns {"<step>_<side>_s": seconds}."""
    sides = [first, "with" if first == "without" else "without"]
    cursors = {side: registries[side].cursor() for side in sides}
    try:
        runs = {
            side: flows(api.Environment(cursors[side], SUPERUSER_ID, {}), n_orders)
            for side in sides
        }
        figures = {f"{step}_{side}_s": 0.0 for step in STEPS for side in sides}
        for step in STEPS:
            for index in range(n_slices):
                for side in sides if index % 2 == 0 else reversed(sides):
                    figures[f"{step}_{side}_s"] += next(runs[side])
        return figures
    finally:
        for cr in cursors.values():
            cr.rollback()
            cr.close()


def vacuum(db_name):
    """VACUUM ANALYZE the database, as the benchmark starts it."""
    _dsn, connection_info = odoo.sql_db.connection_info_for(db_name)
    with closing(psycopg2.connect(**connection_info)) as cnx:
        cnx.autocommit = True
        with cnx.cursor() as cr:
            cr.execute("VACUUM ANALYZE")


def main(config, db_without, db_with):
    odoo.tools.config.parse_config(["-c", config, "--log-level=warn"])
    registries = {"without": Registry(db_without), "with": Registry(db_with)}
    run_round(registries, n_warmup_orders, "without")
    for number in range(n_rounds):
        for db_name in (db_without, db_with):
            vacuum(db_name)
        first = "without" if number % 2 == 0 else "with"
        print("ROUND " + json.dumps(run_round(registries, n_orders, first)), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
