from odoo import fields, models


class SaleReport(models.Model):
    _inherit = "sale.report"

    reconciliation_state = fields.Selection(
        selection=[
            ("none", "Nothing to Reconcile"),
            ("open", "Open"),
            ("mismatch", "Mismatch"),
            ("reconciled", "Reconciled"),
        ],
        string="Reconciliation Status",
        readonly=True,
    )

    def _select_additional_fields(self):
        fields_sql = super()._select_additional_fields()
        fields_sql["reconciliation_state"] = "s.reconciliation_state"
        return fields_sql

    def _group_by_sale(self):
        return super()._group_by_sale() + ",\n            s.reconciliation_state"
