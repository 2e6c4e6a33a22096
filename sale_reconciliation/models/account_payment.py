import psycopg2

from odoo import api, fields, models

from .sale_reconciliation_status_refresh import (
    PAYMENT_FIGURES,
    check_figures_not_written,
)

# Payments in these states have no effect on the customer's balance.
INACTIVE_PAYMENT_STATES = ("draft", "canceled", "rejected")

# Payment fields that its reconciliation figures read (its journal items'
# matchings mark the payment themselves).
PAYMENT_RECONCILIATION_FIELDS = {
    "partner_type",
    "state",
    "amount",
    "currency_id",
    "invoice_ids",
    "move_id",
}


class AccountPayment(models.Model):
    _inherit = "account.payment"

    reconciliation_state = fields.Selection(
        groups="base.group_user",
        selection=[
            ("none", "Nothing to Reconcile"),
            ("unmatched", "Unmatched"),
            ("partial", "Partially Matched"),
            ("matched", "Matched"),
        ],
        string="Reconciliation Status",
        compute="_compute_reconciliation",
        store=True,
        index=True,
        copy=False,
        help="How much of a customer payment is allocated to invoices or "
        "credit notes:\n"
        "- Unmatched: posted, nothing allocated;\n"
        "- Partially Matched: part of it is allocated;\n"
        "- Matched: all of it is allocated.\n"
        "Draft and cancelled payments, and vendor payments, have nothing to "
        "reconcile.",
    )
    reconciliation_amount_unallocated = fields.Monetary(
        groups="base.group_user",
        string="Unallocated Amount",
        currency_field="currency_id",
        compute="_compute_reconciliation",
        store=True,
        copy=False,
        help="Part of the payment, in its currency, not yet matched with "
        "an invoice or a credit note.",
    )

    # -------------------------------------------------------------------------
    # COMPUTE METHODS
    # -------------------------------------------------------------------------

    # No dependencies on other models: the figures follow the payment's
    # journal items and what they are matched with; the payment's changes
    # and its matchings mark it, and the ORM computes it in that transaction
    # (sale.reconciliation.status.refresh).
    def _compute_reconciliation(self):
        refresh = self.env["sale.reconciliation.status.refresh"]
        for payment in self:
            if (
                payment.partner_type != "customer"
                or payment.state in INACTIVE_PAYMENT_STATES
            ):
                payment.reconciliation_state = "none"
                payment.reconciliation_amount_unallocated = 0.0
                continue
            try:
                unallocated = payment._get_reconciliation_unallocated_amount()
            except psycopg2.Error:
                raise
            except Exception as error:  # noqa: BLE001 - queued, tried again
                # The payment keeps its figures; the change goes through.
                refresh._note_failure(payment, error)
                continue
            currency = payment.currency_id
            if currency.is_zero(unallocated):
                state = "matched"
            elif currency.compare_amounts(unallocated, payment.amount) >= 0:
                state = "unmatched"
            else:
                state = "partial"
            # Only what changed is assigned: an amount assigned costs the ORM
            # a currency lookup.
            if payment.reconciliation_state != state:
                payment.reconciliation_state = state
            if currency.compare_amounts(
                payment.reconciliation_amount_unallocated, unallocated
            ):
                payment.reconciliation_amount_unallocated = unallocated

    # -------------------------------------------------------------------------
    # CRUD METHODS
    # -------------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        payments = super().create(vals_list)
        refresh = self.env["sale.reconciliation.status.refresh"]
        refresh._set_new(payments, PAYMENT_FIGURES)
        refresh._mark(payments=payments)
        return payments

    def write(self, vals):
        check_figures_not_written(self, vals, PAYMENT_FIGURES)
        result = super().write(vals)
        if PAYMENT_RECONCILIATION_FIELDS & set(vals):
            self.env["sale.reconciliation.status.refresh"]._mark(payments=self)
        return result

    # -------------------------------------------------------------------------
    # HELPERS
    # -------------------------------------------------------------------------

    def _get_reconciliation_unallocated_amount(self):
        """Amount of this posted payment, in its currency, still open on the
        customer's receivable account."""
        self.ensure_one()
        if not self.move_id:
            # Without a journal entry (Odoo Enterprise can skip it), the
            # payment is allocated to the invoices it was registered for.
            if self.invoice_ids.filtered(lambda m: m.is_sale_document()):
                return 0.0
            return self.amount
        _liquidity, counterparts, _writeoff = self._seek_for_lines()
        open_lines = counterparts.filtered(lambda line: line.account_id.reconcile)
        if self.currency_id == self.company_id.currency_id:
            residual = sum(open_lines.mapped("amount_residual"))
        else:
            residual = sum(open_lines.mapped("amount_residual_currency"))
        return abs(residual)
