"""Orders and payments whose reconciliation figures are to be refreshed, off
Odoo's own flows."""

import logging
from datetime import timedelta

import psycopg2

from odoo import _, api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

PENDING_KEY = "sale_reconciliation.status_refresh"
REFRESH_CRON_XMLID = "sale_reconciliation.ir_cron_refresh_reconciliation_status"
# Queued documents refreshed per transaction of the scheduled action.
REFRESH_BATCH_SIZE = 200
# A document whose figures fail to compute is tried again this many times,
# later each time, then waits for an administrator (Retry).
MAX_ATTEMPTS = 5
RETRY_DELAY = timedelta(minutes=10)

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
    them only add rows here when they commit (a plain INSERT, which never
    waits for another transaction; the same document may be queued several
    times). A scheduled action, woken at once, finds the orders and payments
    concerned (those of a journal entry, and those of the entries matched
    with it), computes their figures in short transactions and deletes the
    rows: Odoo's flows cost what they cost without the module. The action
    locks the documents it computes and leaves those a user holds at that
    moment to a run a minute later; a document whose figures cannot be
    computed is logged and holds back no other.
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
    attempts = fields.Integer(
        readonly=True,
        help="Times the figures of this document failed to compute; after "
        "five, it waits for an administrator to retry it.",
    )
    error = fields.Text(readonly=True, help="Why the figures last failed.")
    retry_after = fields.Datetime(
        readonly=True, help="Not tried again before then (failed documents)."
    )

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

    def _queue_pending(self, wake_at=None):
        """Insert the documents marked by this transaction into the queue,
        and wake the scheduled action (at ``wake_at``; at once when None).
        Returns the number of rows queued."""
        pending = self.env.cr.precommit.data.pop(PENDING_KEY, None)
        if not pending or not any(pending.values()):
            return 0
        queued = 0
        for column, table in (
            ("order_id", "sale_order"),
            ("move_id", "account_move"),
            ("payment_id", "account_payment"),
        ):
            if not pending[column]:
                continue
            self.env.cr.execute(
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
            queued += self.env.cr.rowcount
        cron = self.env.ref(REFRESH_CRON_XMLID, raise_if_not_found=False)
        if cron:
            cron._trigger(wake_at)
        return queued

    # -------------------------------------------------------------------------
    # REFRESH
    # -------------------------------------------------------------------------

    @api.model
    def _cron_refresh(self):
        """Refresh the queued figures, a batch per transaction: Odoo's
        scheduled action calls again at once while some remain."""
        done = self._refresh_queued(REFRESH_BATCH_SIZE)
        [[remaining]] = self.env.execute_query(
            SQL(
                "SELECT COUNT(*) FROM sale_reconciliation_status_refresh WHERE %s",
                self._due_clause(),
            )
        )
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        return done

    @api.model
    def _due_clause(self):
        """The queue rows to compute now: not failed too often, and past
        their retry time."""
        return SQL(
            "COALESCE(attempts, 0) < %s "
            "AND (retry_after IS NULL OR retry_after <= %s)",
            MAX_ATTEMPTS,
            fields.Datetime.now(),
        )

    @api.model
    def _refresh_queued(self, limit=None):
        """Compute the figures of up to ``limit`` queued documents (all of
        them when None), and take them off the queue. Returns the number of
        queue rows done.

        Rows, orders and payments another transaction holds are never waited
        for: they are left to it, or queued again for a run a minute later.
        A document whose figures fail to compute stays queued with the error,
        tried again later (MAX_ATTEMPTS times, then by an administrator)."""
        # Rows queued by this transaction, not committed yet, count too.
        queued = self.sudo()
        queued._queue_pending()
        queued.flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT id, order_id, move_id, payment_id, attempts
                  FROM sale_reconciliation_status_refresh
                 WHERE %s
                 ORDER BY id
                 LIMIT %s
                   FOR UPDATE SKIP LOCKED
                """,
                self._due_clause(),
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
        # Locked first: a user changing one meanwhile waits for this short
        # transaction rather than failing it; those users hold now are done
        # in a later run.
        orders = queued._lock_documents("sale.order", order_ids)
        payments = queued._lock_documents("account.payment", payment_ids)
        # The figures read what the database says, not what this
        # transaction's cache kept of documents changed since (in the
        # transaction that changed them: a period closing).
        self.env.invalidate_all(flush=True)
        failed = queued._recompute_each(orders, list(ORDER_FIGURES))
        failed.update(queued._recompute_each(payments, list(PAYMENT_FIGURES)))
        self.env.execute_query(
            SQL(
                "DELETE FROM sale_reconciliation_status_refresh WHERE id = ANY(%s)",
                [row[0] for row in rows],
            )
        )
        if failed:
            queued._keep_failed(failed, rows)
        held_orders = order_ids - set(orders.ids)
        held_payments = payment_ids - set(payments.ids)
        requeued = 0
        if held_orders or held_payments:
            # Those that still exist: in a minute, once their users are done.
            queued._mark(
                orders=queued.env["sale.order"].browse(held_orders),
                payments=queued.env["account.payment"].browse(held_payments),
            )
            requeued = queued._queue_pending(
                wake_at=fields.Datetime.now() + timedelta(minutes=1)
            )
        return max(len(rows) - requeued, 0)

    def _lock_documents(self, model_name, ids):
        """The records of ``ids`` that still exist, locked for this
        transaction; those another transaction holds are left out."""
        if not ids:
            return self.env[model_name]
        model = self.env[model_name]
        rows = self.env.execute_query(
            SQL(
                "SELECT id FROM %s WHERE id = ANY(%s) ORDER BY id "
                "FOR NO KEY UPDATE SKIP LOCKED",
                SQL.identifier(model._table),
                sorted(ids),
            )
        )
        return model.browse([row[0] for row in rows])

    def _recompute_each(self, records, fnames):
        """Recompute ``records`` together; should that fail, one by one, so
        that a document whose figures cannot be computed does not hold back
        the others. Returns {record: error} of those that failed."""
        try:
            with self.env.cr.savepoint():
                self._recompute(records, fnames)
            return {}
        except psycopg2.OperationalError:
            raise
        except Exception:  # noqa: BLE001 - retried one by one below
            _logger.info("Reconciliation figures: computing one by one")
        failed = {}
        for record in records:
            try:
                with self.env.cr.savepoint():
                    self._recompute(record, fnames)
            except psycopg2.OperationalError:
                raise
            except Exception as error:  # noqa: BLE001 - kept with the document
                _logger.exception(
                    "Reconciliation figures of %s could not be computed", record
                )
                failed[record] = f"{type(error).__name__}: {error}"
        return failed

    def _keep_failed(self, failed, rows):
        """Queue again the documents whose figures failed, with the error,
        one attempt more than the rows they came from, to be tried again
        later: never dropped."""
        attempts = {}
        for _row_id, order_id, _move_id, payment_id, row_attempts in rows:
            for key in (("sale.order", order_id), ("account.payment", payment_id)):
                if key[1]:
                    attempts[key] = max(attempts.get(key, 0), row_attempts or 0)
        now = fields.Datetime.now()
        vals_list = []
        for record, error in failed.items():
            tried = attempts.get((record._name, record.id), 0) + 1
            column = "order_id" if record._name == "sale.order" else "payment_id"
            vals_list.append(
                {
                    column: record.id,
                    "attempts": tried,
                    "error": error,
                    "retry_after": now + RETRY_DELAY * tried,
                }
            )
        self.create(vals_list)

    def action_retry(self):
        """Try these failed documents again at once (administrators)."""
        if not self.env.user.has_group("base.group_system"):
            raise AccessError(
                _("Only administrators retry the reconciliation figures.")
            )
        # sudo: the queue is written by its scheduled action; administrators
        # only ask for another try.
        self.sudo().write({"attempts": 0, "retry_after": False})
        cron = self.env.ref(REFRESH_CRON_XMLID, raise_if_not_found=False)
        if cron:
            cron._trigger()
        return True

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
