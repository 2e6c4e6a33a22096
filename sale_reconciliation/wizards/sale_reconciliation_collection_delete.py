from odoo import _, api, fields, models
from odoo.exceptions import UserError

DELETABLE_MODELS = {
    "sale.reconciliation.collection": (
        "sale_reconciliation.sale_reconciliation_collection_action"
    ),
    "sale.reconciliation.collection.handover": (
        "sale_reconciliation.sale_reconciliation_collection_handover_action"
    ),
}


class SaleReconciliationCollectionDelete(models.TransientModel):
    """Delete draft collections or handovers of another salesperson, saying
    why (reconciliation managers): the reason outlives the records. The
    checks are the models' own (action_delete)."""

    _name = "sale.reconciliation.collection.delete"
    _description = "Delete Collections with a Reason"

    res_model = fields.Selection(
        string="Records Of",
        selection=[
            ("sale.reconciliation.collection", "Collections"),
            ("sale.reconciliation.collection.handover", "Handovers"),
        ],
        required=True,
        readonly=True,
    )
    res_ids = fields.Json(string="Record IDs", required=True, readonly=True)
    record_count = fields.Integer(string="Records", compute="_compute_record_count")
    reason = fields.Text(required=True)

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        context = self.env.context
        if context.get("active_model") in DELETABLE_MODELS:
            values["res_model"] = context["active_model"]
            values["res_ids"] = [int(rid) for rid in context.get("active_ids") or []]
        return values

    @api.depends("res_ids")
    def _compute_record_count(self):
        for wizard in self:
            wizard.record_count = len(wizard.res_ids or [])

    def _get_records(self):
        self.ensure_one()
        ids = self.res_ids if isinstance(self.res_ids, list) else []
        if (
            self.res_model not in DELETABLE_MODELS
            or not ids
            or not all(isinstance(rid, int) for rid in ids)
        ):
            raise UserError(_("Select the collections or handovers to delete."))
        return self.env[self.res_model].browse(ids).exists()

    def action_delete(self):
        self.ensure_one()
        self._get_records().action_delete(self.reason)
        return self.env["ir.actions.act_window"]._for_xml_id(
            DELETABLE_MODELS[self.res_model]
        )
