from odoo import fields, models


class SaleReconciliationStatementDispute(models.TransientModel):
    _name = "sale.reconciliation.statement.dispute"
    _description = "Record a Customer's Dispute of a Statement"

    statement_id = fields.Many2one(
        "sale.reconciliation.statement", required=True, ondelete="cascade"
    )
    reason = fields.Text(
        required=True, help="What the customer says is wrong with the statement."
    )

    def action_dispute(self):
        self.ensure_one()
        self.statement_id.action_dispute(self.reason)
        return {"type": "ir.actions.act_window_close"}
