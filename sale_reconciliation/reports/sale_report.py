from odoo import fields, models

from ..models.sale_order import ORDER_RECONCILIATION_STATES


class SaleReport(models.Model):
    _inherit = "sale.report"

    reconciliation_state = fields.Selection(
        selection=ORDER_RECONCILIATION_STATES,
        string="Reconciliation Status",
        readonly=True,
    )

    def _select_additional_fields(self):
        fields_sql = super()._select_additional_fields()
        fields_sql["reconciliation_state"] = "s.reconciliation_state"
        return fields_sql

    def _group_by_sale(self):
        return super()._group_by_sale() + ",\n            s.reconciliation_state"
