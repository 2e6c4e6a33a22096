"""Orders and payments whose reconciliation figures are to be refreshed, off
Odoo's own flows."""

import logging

from odoo import api, fields, models
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

PENDING_KEY = "sale_reconciliation.status_refresh"
REFRESH_CRON_XMLID = "sale_reconciliation.ir_cron_refresh_reconciliation_status"
# Queued documents refreshed per transaction of the scheduled action.
REFRESH_BATCH_SIZE = 1000

# The stored figures, as they are when there is nothing to reconcile.
ORDER_FIGURES = {
    "reconciliation_state": "none",
    "reconciliation_amount_invoiced": 0.0,
    "reconciliation_amount_paid": 0.0,
    "reconciliation_amount_due": 0.0,
}
PAYMENT_FIGURES = {
    "reconciliation_state": "none",
    "reconciliation_amount_unallocated": 0.0,
}


class SaleReconciliationStatusRefresh(models.Model):
    """A sales order, journal entry or payment whose documents changed since
    the reconciliation figures of the orders and payments concerned were
    last computed.

    Confirming orders, posting invoices, registering payments and matching
    them only add rows here, once per transaction (a plain INSERT, which
    never waits for nor conflicts with another transaction). A scheduled
    action, woken at once, finds the orders and payments concerned (those of
    a journal entry, and those of the entries matched with it), computes
    their figures and deletes the rows: Odoo's flows cost what they cost
    without the module.
    """

    _name = "sale.reconciliation.status.refresh"
    _description = "Reconciliation Figures to Refresh"
    _log_access = False

    order_id = fields.Many2one(
        "sale.order", string="Sales Order", ondelete="cascade", readonly=True
    )
    move_id = fields.Many2one(
        "account.move", string="Journal Entry", ondelete="cascade", readonly=True
    )
    payment_id = fields.Many2one("account.payment", ondelete="cascade", readonly=True)

    # -------------------------------------------------------------------------
    # QUEUEING
    # -------------------------------------------------------------------------

    @api.model
    def _mark(self, orders=(), moves=(), payments=()):
        """Queue, when the transaction commits, the reconciliation figures of
        ``orders``, of the orders and payments of ``moves``, and of
        ``payments``, and wake the scheduled action that refreshes them.
        Nothing is computed nor locked in this transaction."""
        precommit = self.env.cr.precommit
        pending = precommit.data.get(PENDING_KEY)
        if pending is None:
            pending = precommit.data[PENDING_KEY] = {
                "order_id": set(),
                "move_id": set(),
                "payment_id": set(),
            }
            # sudo: the queue and the scheduled action are technical; whoever
            # changed a document queues the figures it changes.
            precommit.add(self.sudo()._queue_pending)
        for column, records in (
            ("order_id", orders),
            ("move_id", moves),
            ("payment_id", payments),
        ):
            pending[column].update(record.id for record in records if record.id)

    def _queue_pending(self):
        pending = self.env.cr.precommit.data.pop(PENDING_KEY, None)
        if not pending or not any(pending.values()):
            return
        for column, table in (
            ("order_id", "sale_order"),
            ("move_id", "account_move"),
            ("payment_id", "account_payment"),
        ):
            if not pending[column]:
                continue
            self.env.execute_query(
                SQL(
                    """
                    INSERT INTO sale_reconciliation_status_refresh (%(column)s)
                    SELECT record.id
                      FROM %(table)s record
                     -- a document made and undone in this transaction (a
                     -- savepoint rolled back) is left out.
                     WHERE record.id = ANY(%(ids)s)
                    """,
                    column=SQL.identifier(column),
                    table=SQL.identifier(table),
                    ids=sorted(pending[column]),
                )
            )
        cron = self.env.ref(REFRESH_CRON_XMLID, raise_if_not_found=False)
        if cron:
            cron._trigger()

    # -------------------------------------------------------------------------
    # REFRESH
    # -------------------------------------------------------------------------

    @api.model
    def _cron_refresh(self):
        """Refresh the queued figures, a batch per transaction: Odoo's
        scheduled action calls again at once while some remain."""
        done = self._refresh_queued(REFRESH_BATCH_SIZE)
        [[remaining]] = self.env.execute_query(
            SQL("SELECT COUNT(*) FROM sale_reconciliation_status_refresh")
        )
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        return done

    @api.model
    def _refresh_queued(self, limit=None):
        """Compute the figures of up to ``limit`` queued documents (all of
        them when None), and take them off the queue. Rows another
        transaction is refreshing are left to it. Returns the number of rows
        done."""
        # Rows queued by this transaction, not committed yet, count too.
        queued = self.sudo()
        queued._queue_pending()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT id, order_id, move_id, payment_id
                  FROM sale_reconciliation_status_refresh
                 ORDER BY id
                 LIMIT %s
                   FOR UPDATE SKIP LOCKED
                """,
                limit,
            )
        )
        if not rows:
            return 0
        order_ids = {row[1] for row in rows if row[1]}
        move_ids = {row[2] for row in rows if row[2]}
        payment_ids = {row[3] for row in rows if row[3]}
        if move_ids:
            move_ids |= queued._get_matched_move_ids(move_ids)
            order_ids |= queued._get_order_ids_of_moves(move_ids)
            payment_ids |= set(
                queued.env["account.payment"]
                .search([("move_id", "in", list(move_ids))])
                .ids
            )
        queued._recompute(
            queued.env["sale.order"].browse(order_ids).exists(), list(ORDER_FIGURES)
        )
        queued._recompute(
            queued.env["account.payment"].browse(payment_ids).exists(),
            list(PAYMENT_FIGURES),
        )
        self.env.execute_query(
            SQL(
                "DELETE FROM sale_reconciliation_status_refresh WHERE id = ANY(%s)",
                [row[0] for row in rows],
            )
        )
        return len(rows)

    @api.model
    def _set_new(self, records, values):
        """Give the new ``records`` the figures ``values`` (those of a
        document with nothing to reconcile), without computing anything:
        without dependencies, Odoo would leave them empty. Those that have
        something to reconcile are queued by their creation."""
        fields_ = [records._fields[fname] for fname in values]
        with self.env.protecting(fields_, records):
            records.update(values)

    def _recompute(self, records, fnames):
        if not records:
            return
        for fname in fnames:
            self.env.add_to_compute(records._fields[fname], records)
        records.flush_recordset(fnames)
        # The mismatch reasons, computed when read, follow the new figures.
        records.invalidate_recordset()

    def _get_matched_move_ids(self, move_ids):
        """Journal entries matched with ``move_ids``: an invoice's payments,
        and the other invoices a payment is matched with (its remainder is
        then no longer the first order's)."""
        self.env["account.partial.reconcile"].flush_model(
            ["debit_move_id", "credit_move_id"]
        )
        self.env["account.move.line"].flush_model(["move_id"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT credit.move_id
                  FROM account_move_line debit
                  JOIN account_partial_reconcile partial
                    ON partial.debit_move_id = debit.id
                  JOIN account_move_line credit ON credit.id = partial.credit_move_id
                 WHERE debit.move_id = ANY(%(move_ids)s)
                 UNION
                SELECT debit.move_id
                  FROM account_move_line credit
                  JOIN account_partial_reconcile partial
                    ON partial.credit_move_id = credit.id
                  JOIN account_move_line debit ON debit.id = partial.debit_move_id
                 WHERE credit.move_id = ANY(%(move_ids)s)
                """,
                move_ids=sorted(move_ids),
            )
        )
        return {row[0] for row in rows}

    def _get_order_ids_of_moves(self, move_ids):
        """Sales orders invoiced (or refunded) by ``move_ids``."""
        self.env["account.move.line"].flush_model(["move_id", "sale_line_ids"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT DISTINCT order_line.order_id
                  FROM account_move_line line
                  JOIN sale_order_line_invoice_rel rel
                    ON rel.invoice_line_id = line.id
                  JOIN sale_order_line order_line
                    ON order_line.id = rel.order_line_id
                 WHERE line.move_id = ANY(%s)
                """,
                sorted(move_ids),
            )
        )
        return {row[0] for row in rows}
