"""Reconciliation figures of orders and payments, computed in the
transaction that changes their documents; those that fail to compute are
kept, with their error, and tried again."""

import logging
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

FAILED_KEY = "sale_reconciliation.figures_failed"
REFRESH_CRON_XMLID = "sale_reconciliation.ir_cron_refresh_reconciliation_status"
# Queued documents refreshed per transaction of the scheduled action.
REFRESH_BATCH_SIZE = 200
# A document whose figures fail to compute is tried again this many times,
# later each time, then waits for an administrator (Retry).
MAX_ATTEMPTS = 5
RETRY_DELAY = timedelta(minutes=10)
# A document another transaction holds is tried again this much later.
HELD_DELAY = timedelta(minutes=1)

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
    """A sales order or payment whose reconciliation figures could not be
    computed, kept with the error to be computed again.

    The figures are stored fields without dependencies on other models (a
    dependency tree on invoices, items and matchings would cost every
    posting and reconciliation of Odoo). Instead, the module's overrides of
    Odoo's flows mark the orders and payments a change concerns (``_mark``):
    the ORM computes their figures when they are read, or at the latest when
    the transaction flushes, in the transaction and as the user that made
    the change, as it does Odoo's own stored fields; automated actions on
    them run there too.

    A document whose figures fail to compute keeps its last figures, and is
    queued here with the error when the transaction commits: the change
    itself goes through. A scheduled action tries it again later
    (MAX_ATTEMPTS times, then it waits for an administrator's *Retry*),
    never waiting for a document another transaction holds.
    """

    _name = "sale.reconciliation.status.refresh"
    _description = "Reconciliation Figures to Refresh"
    _log_access = False

    order_id = fields.Many2one(
        "sale.order", string="Sales Order", ondelete="cascade", readonly=True
    )
    # Rows queued by versions before 18.0.1.7.0, which queued every change.
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
    # MARKING
    # -------------------------------------------------------------------------

    @api.model
    def _mark(self, orders=(), moves=(), payments=()):
        """Have the ORM recompute, in this transaction, the reconciliation
        figures of ``orders``, of the orders and payments of ``moves`` and of
        the entries matched with them, and of ``payments``: on their next
        read, or when the transaction flushes.

        Call it once the change is made: a flush in between (Odoo's
        ``unlink()`` flushes after its ``ondelete`` methods) would compute
        them as they were. What a deletion concerns is found before it
        (``_get_concerned``) and marked after it (``_mark_concerned``)."""
        self._mark_concerned(self._get_concerned(orders, moves, payments))

    @api.model
    def _get_concerned(self, orders=(), moves=(), payments=()):
        """The orders and payments whose figures a change of ``orders``,
        ``moves`` and ``payments`` concerns, as they are matched now."""
        # sudo: a change made by whoever changes the figures of the orders
        # and payments it concerns, whether they may read them or not; the
        # figures are computed as superuser anyway (compute_sudo).
        env = self.sudo().env
        orders = env["sale.order"].browse(_saved_ids(orders))
        payments = env["account.payment"].browse(_saved_ids(payments))
        moves = env["account.move"].browse(_saved_ids(moves))
        if moves:
            moves_orders, moves_payments = self._get_documents_of_moves(moves)
            orders |= moves_orders
            payments |= moves_payments
        return orders, payments

    @api.model
    def _mark_concerned(self, concerned):
        """Mark the figures of the (orders, payments) ``concerned`` to be
        computed in this transaction."""
        orders, payments = concerned
        for records, fnames in ((orders, ORDER_FIGURES), (payments, PAYMENT_FIGURES)):
            if records:
                for fname in fnames:
                    self.env.add_to_compute(records._fields[fname], records)

    @api.model
    def _get_documents_of_moves(self, moves):
        """The sales orders and payments whose figures ``moves`` count in:
        those they invoice or are the entry of, and those of the entries
        matched with them (an invoice's payments, the other invoices a
        payment is matched with: its remainder is no longer one order's)."""
        lines = moves.line_ids
        matched = (
            lines.matched_debit_ids.debit_move_id
            | lines.matched_credit_ids.credit_move_id
        ).move_id
        concerned = moves | matched
        return concerned.line_ids.sale_line_ids.order_id, concerned.origin_payment_id

    # -------------------------------------------------------------------------
    # FAILURES
    # -------------------------------------------------------------------------

    @api.model
    def _note_failure(self, record, error):
        """The figures of ``record`` failed to compute with ``error``: it
        keeps its last figures, and is queued when the transaction commits
        (or by the scheduled action computing it)."""
        _logger.error(
            "Reconciliation figures of %s could not be computed",
            record,
            exc_info=error,
        )
        precommit = self.env.cr.precommit
        failures = precommit.data.get(FAILED_KEY)
        if failures is None:
            failures = precommit.data[FAILED_KEY] = {}
            # sudo: the queue is technical; whoever changed the document
            # queues the figures that failed.
            precommit.add(self.sudo()._queue_failures)
        failures[record._name, record.id] = f"{type(error).__name__}: {error}"

    @api.model
    def _pop_failures(self):
        """{(model name, id): error} of the figures that failed in this
        transaction since the last call."""
        return self.env.cr.precommit.data.pop(FAILED_KEY, None) or {}

    def _queue_failures(self):
        """Queue the documents whose figures failed in this transaction,
        unless already queued, to be tried again later."""
        failures = self._pop_failures()
        retry_after = fields.Datetime.now() + RETRY_DELAY
        for (model_name, record_id), error in failures.items():
            column = "order_id" if model_name == "sale.order" else "payment_id"
            self.env.cr.execute(
                SQL(
                    """
                    INSERT INTO sale_reconciliation_status_refresh
                                (%(column)s, attempts, error, retry_after)
                    SELECT record.id, 1, %(error)s, %(retry_after)s
                      FROM %(table)s record
                     WHERE record.id = %(id)s
                       AND NOT EXISTS (
                            SELECT 1 FROM sale_reconciliation_status_refresh
                             WHERE %(column)s = record.id)
                    """,
                    column=SQL.identifier(column),
                    table=SQL.identifier(self.env[model_name]._table),
                    id=record_id,
                    error=error,
                    retry_after=retry_after,
                )
            )
        if failures:
            cron = self.env.ref(REFRESH_CRON_XMLID, raise_if_not_found=False)
            if cron:
                cron._trigger(retry_after)

    # -------------------------------------------------------------------------
    # RETRIES
    # -------------------------------------------------------------------------

    @api.model
    def _cron_refresh(self):
        """Try the queued figures again, a batch per transaction: Odoo's
        scheduled action calls again at once while some are due."""
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
        """Compute the figures of up to ``limit`` due queued documents (all
        of them when None), and take them off the queue. Returns the number
        of queue rows done.

        Rows, orders and payments another transaction holds are never waited
        for: they stay queued, for a run a minute later. A document whose
        figures fail again stays queued with the error, one attempt more."""
        queued = self.sudo()
        queued.flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT id, order_id, move_id, payment_id, attempts, error
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
        Order = queued.env["sale.order"]
        Payment = queued.env["account.payment"]
        # What each document was queued with: its attempts and last error.
        queued_as = {}
        moves = queued.env["account.move"]
        for _id, order_id, move_id, payment_id, attempts, error in rows:
            for record in (Order.browse(order_id), Payment.browse(payment_id)):
                if record and (attempts or 0) >= queued_as.get(record, (0,))[0]:
                    queued_as[record] = (attempts or 0, error)
            moves |= moves.browse(move_id)
        if moves:
            moves = moves.exists()
            moves_orders, moves_payments = queued._get_documents_of_moves(moves)
            for record in moves_orders | moves_payments:
                queued_as.setdefault(record, (0, False))
        # Locked first: a user changing one meanwhile waits for this short
        # transaction rather than failing it; those users hold now are left
        # queued for a later run.
        orders = queued._lock_documents(
            "sale.order", {r.id for r in queued_as if r._name == "sale.order"}
        )
        payments = queued._lock_documents(
            "account.payment",
            {r.id for r in queued_as if r._name == "account.payment"},
        )
        # The figures read what the database says, not what this
        # transaction's cache kept of documents changed since (in the
        # transaction that changed them: a period closing).
        self.env.invalidate_all(flush=True)
        earlier_failures = queued._pop_failures()
        queued._recompute(orders, list(ORDER_FIGURES))
        queued._recompute(payments, list(PAYMENT_FIGURES))
        failed = queued._pop_failures()
        if earlier_failures:
            queued.env.cr.precommit.data[FAILED_KEY] = earlier_failures
        self.env.execute_query(
            SQL(
                "DELETE FROM sale_reconciliation_status_refresh WHERE id = ANY(%s)",
                [row[0] for row in rows],
            )
        )
        now = fields.Datetime.now()
        vals_list = []
        for record, (attempts, error) in queued_as.items():
            if record in (orders if record._name == "sale.order" else payments):
                key = (record._name, record.id)
                if key not in failed:
                    continue
                attempts += 1
                error = failed[key]
                retry_after = now + RETRY_DELAY * attempts
            elif not record.exists():
                continue
            else:
                # Held by another transaction: once it is done.
                retry_after = now + HELD_DELAY
            column = "order_id" if record._name == "sale.order" else "payment_id"
            vals_list.append(
                {
                    column: record.id,
                    "attempts": attempts,
                    "error": error,
                    "retry_after": retry_after,
                }
            )
        if vals_list:
            queued.create(vals_list)
            cron = self.env.ref(REFRESH_CRON_XMLID, raise_if_not_found=False)
            if cron:
                cron._trigger(min(vals["retry_after"] for vals in vals_list))
        return len(rows)

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
        something to reconcile are marked by their creation."""
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


def _saved_ids(records):
    """Ids of the saved records among ``records`` (not those of a form being
    edited)."""
    return [record.id for record in records if record.id]


def check_figures_not_written(records, fnames, figures):
    """The reconciliation figures are what the documents say, computed by
    the ORM: nobody writes them (the form shows them read-only, which an
    RPC call ignores)."""
    written = set(fnames) & set(figures)
    if written and not records.env.su:
        raise UserError(
            records.env._(
                "The reconciliation figures (%(fields)s) follow the orders, "
                "invoices and payments; they cannot be written.",
                fields=", ".join(
                    records._fields[fname].get_description(records.env)["string"]
                    for fname in sorted(written)
                ),
            )
        )
