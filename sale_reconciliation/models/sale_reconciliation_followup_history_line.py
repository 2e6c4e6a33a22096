from odoo import fields, models


class SaleReconciliationFollowupHistoryLine(models.Model):
    """One line of a reminder: an instalment it asked to pay, with what it
    still owed net of the customer's credits, or a credit set against them
    (an unapplied payment or credit note, a collection in hand), in its own
    currency."""

    _name = "sale.reconciliation.followup.history.line"
    _description = "Follow-up Reminder Line"
    _order = "history_id, kind desc, date, id"

    history_id = fields.Many2one(
        "sale.reconciliation.followup.history",
        string="Reminder",
        required=True,
        index=True,
        ondelete="cascade",
        readonly=True,
    )
    company_id = fields.Many2one(related="history_id.company_id", store=True)
    kind = fields.Selection(
        selection=[("due", "Due"), ("credit", "Credit")],
        required=True,
        readonly=True,
        help="Due: an instalment the reminder asks to pay. Credit: a payment, "
        "credit note or collection of the customer set against them.",
    )
    move_id = fields.Many2one("account.move", string="Document", readonly=True)
    move_line_id = fields.Many2one(
        "account.move.line",
        string="Journal Item",
        readonly=True,
        index="btree_not_null",
    )
    payment_id = fields.Many2one("account.payment", readonly=True)
    collection_id = fields.Many2one("sale.reconciliation.collection", readonly=True)
    level_id = fields.Many2one(
        "sale.reconciliation.followup.level",
        readonly=True,
        ondelete="cascade",
        help="The level this instalment reached with the reminder.",
    )
    date = fields.Date(
        readonly=True, help="The instalment's due date, or the credit's date."
    )
    days_overdue = fields.Integer(readonly=True)
    currency_id = fields.Many2one("res.currency", required=True, readonly=True)
    amount_residual = fields.Monetary(
        string="Residual",
        readonly=True,
        help="What the instalment still owed, or the credit still unapplied, "
        "when the reminder was sent.",
    )
    amount = fields.Monetary(
        string="Amount Due",
        readonly=True,
        help="What the instalment still owed net of the customer's credits.",
    )

    def _reference(self):
        self.ensure_one()
        return (
            self.move_id.name or self.payment_id.name or self.collection_id.name or ""
        )
