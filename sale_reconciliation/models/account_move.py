from odoo import api, fields, models

# payment_state -> reconciliation_state, for posted customer invoices and
# credit notes. "blocked" invoices are still owed; legacy ones predate
# accounting and have nothing to reconcile.
PAYMENT_STATE_TO_RECONCILIATION_STATE = {
    "not_paid": "open",
    "blocked": "open",
    "partial": "partial",
    "in_payment": "reconciled",
    "paid": "reconciled",
    "reversed": "reconciled",
    "invoicing_legacy": "none",
}

CUSTOMER_MOVE_TYPES = ("out_invoice", "out_refund")


class AccountMove(models.Model):
    _inherit = "account.move"

    reconciliation_state = fields.Selection(
        selection=[
            ("none", "Nothing to Reconcile"),
            ("open", "Open"),
            ("partial", "Partially Reconciled"),
            ("reconciled", "Reconciled"),
        ],
        string="Reconciliation Status",
        compute="_compute_reconciliation_state",
        store=True,
        index=True,
        copy=False,
        help="Where a customer invoice or credit note stands against the "
        "payments and credit notes matched with it:\n"
        "- Open: posted, nothing paid yet;\n"
        "- Partially Reconciled: partly paid or matched;\n"
        "- Reconciled: paid, in payment or fully reversed.\n"
        "Draft and cancelled documents, and any other journal entry, have "
        "nothing to reconcile.",
    )

    # -------------------------------------------------------------------------
    # COMPUTE METHODS
    # -------------------------------------------------------------------------

    @api.depends("move_type", "state", "payment_state")
    def _compute_reconciliation_state(self):
        for move in self:
            if move.move_type in CUSTOMER_MOVE_TYPES and move.state == "posted":
                move.reconciliation_state = PAYMENT_STATE_TO_RECONCILIATION_STATE.get(
                    move.payment_state, "open"
                )
            else:
                move.reconciliation_state = "none"
