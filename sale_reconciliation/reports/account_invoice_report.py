from odoo import fields, models
from odoo.tools import SQL

from ..models.account_move import INVOICE_RECONCILIATION_STATES


class AccountInvoiceReport(models.Model):
    _inherit = "account.invoice.report"

    reconciliation_state = fields.Selection(
        selection=INVOICE_RECONCILIATION_STATES,
        string="Reconciliation Status",
        readonly=True,
    )

    def _select(self):
        return SQL("%s, move.reconciliation_state", super()._select())
