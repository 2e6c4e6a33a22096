"""Install hooks: fill the reconciliation status of existing documents fast.

Adding a stored computed field makes Odoo compute it for every row of the
table, one ORM batch after another. On a database with 100,000 invoices that
is slow for documents that need no computation at all. So the columns are
created here first (then Odoo leaves them alone), filled in SQL where the
value follows from stored columns, and only the documents whose status needs
the full analysis (confirmed orders, posted customer payments) are computed
through the ORM, in batches.
"""

import logging

from odoo.tools import SQL
from odoo.tools.sql import column_exists

from .models.account_move import (
    CUSTOMER_MOVE_TYPES,
    PAYMENT_STATE_TO_RECONCILIATION_STATE,
)
from .models.account_payment import INACTIVE_PAYMENT_STATES

_logger = logging.getLogger(__name__)

RECOMPUTE_BATCH_SIZE = 1000

# table -> (column, SQL type, value of the existing rows)
PRESET_COLUMNS = {
    "account_move": [("reconciliation_state", "varchar", "none")],
    "account_payment": [
        ("reconciliation_state", "varchar", "none"),
        ("reconciliation_amount_unallocated", "numeric", 0),
    ],
    "sale_order": [
        ("reconciliation_state", "varchar", "none"),
        ("reconciliation_amount_invoiced", "numeric", 0),
        ("reconciliation_amount_paid", "numeric", 0),
        ("reconciliation_amount_due", "numeric", 0),
    ],
}


def pre_init_hook(env):
    for table, columns in PRESET_COLUMNS.items():
        for column, column_type, value in columns:
            if column_exists(env.cr, table, column):
                continue
            # A constant default fills existing rows without rewriting the
            # table; it is dropped again because Odoo keeps no SQL defaults.
            env.cr.execute(
                SQL(
                    "ALTER TABLE %s ADD COLUMN %s %s DEFAULT %s",
                    SQL.identifier(table),
                    SQL.identifier(column),
                    SQL(column_type),
                    value,
                )
            )
            env.cr.execute(
                SQL(
                    "ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT",
                    SQL.identifier(table),
                    SQL.identifier(column),
                )
            )
    _fill_move_reconciliation_state(env)


def _fill_move_reconciliation_state(env):
    """Posted customer invoices and credit notes: the status follows from
    their payment_state alone."""
    cases = SQL(" ").join(
        SQL("WHEN %s THEN %s", payment_state, reconciliation_state)
        for payment_state, reconciliation_state in (
            PAYMENT_STATE_TO_RECONCILIATION_STATE.items()
        )
    )
    env.cr.execute(
        SQL(
            """
            UPDATE account_move
               SET reconciliation_state = CASE payment_state %s ELSE 'open' END
             WHERE move_type IN %s AND state = 'posted'
            """,
            cases,
            CUSTOMER_MOVE_TYPES,
        )
    )
    _logger.info(
        "sale_reconciliation: status set on %s posted customer invoices",
        env.cr.rowcount,
    )


def post_init_hook(env):
    _recompute_in_batches(
        env["sale.order"],
        [("state", "=", "sale")],
        [
            "reconciliation_state",
            "reconciliation_amount_invoiced",
            "reconciliation_amount_paid",
            "reconciliation_amount_due",
        ],
    )
    _recompute_in_batches(
        env["account.payment"],
        [
            ("partner_type", "=", "customer"),
            ("state", "not in", INACTIVE_PAYMENT_STATES),
        ],
        ["reconciliation_state", "reconciliation_amount_unallocated"],
    )
    # Every company's customers get their credit figures (_refresh_all reads
    # them as superuser).
    env["sale.reconciliation.credit.profile"]._refresh_all()


def _recompute_in_batches(model, domain, fnames):
    # sudo: install hook - every company's documents get their status, not
    # only those the installing user can read.
    model = model.sudo().with_context(active_test=False)
    ids = model.search(domain, order="id").ids
    fields_to_compute = [model._fields[fname] for fname in fnames]
    for start in range(0, len(ids), RECOMPUTE_BATCH_SIZE):
        records = model.browse(ids[start : start + RECOMPUTE_BATCH_SIZE])
        for field in fields_to_compute:
            model.env.add_to_compute(field, records)
        model.env.flush_all()
        model.env.invalidate_all()
    _logger.info(
        "sale_reconciliation: status computed for %s %s records",
        len(ids),
        model._name,
    )
