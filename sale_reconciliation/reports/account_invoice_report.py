from odoo import fields, models
from odoo.tools import SQL


class AccountInvoiceReport(models.Model):
    _inherit = "account.invoice.report"

    reconciliation_state = fields.Selection(
        selection=[
            ("none", "Nothing to Reconcile"),
            ("open", "Open"),
            ("partial", "Partially Reconciled"),
            ("reconciled", "Reconciled"),
        ],
        string="Reconciliation Status",
        readonly=True,
    )

    def _select(self):
        return SQL("%s, move.reconciliation_state", super()._select())
