from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..models.sale_reconciliation_collection import OVER_RECEIPT_CHOICES


class SaleReconciliationCollectionCheck(models.TransientModel):
    """The cashier goes through the collections of a handover: confirms each
    with the amount received and the journal, or rejects it, saying why."""

    _name = "sale.reconciliation.collection.check"
    _description = "Check the Collections of a Handover"

    handover_id = fields.Many2one(
        "sale.reconciliation.collection.handover",
        required=True,
        readonly=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(related="handover_id.company_id")
    currency_id = fields.Many2one(related="handover_id.currency_id")
    line_ids = fields.One2many(
        "sale.reconciliation.collection.check.line", "wizard_id", string="Collections"
    )

    @api.model_create_multi
    def create(self, vals_list):
        wizards = super().create(vals_list)
        for wizard in wizards:
            wizard.line_ids = [
                fields.Command.create(wizard._prepare_line_vals(collection))
                for collection in wizard.handover_id.collection_ids.filtered(
                    lambda c: c.state == "handed_over"
                )
            ]
        return wizards

    def _prepare_line_vals(self, collection):
        return {
            "collection_id": collection.id,
            "received_amount": collection.amount,
            "journal_id": self._default_journal(collection).id,
        }

    def _default_journal(self, collection):
        """Cash into the company's cash journal, the rest into its bank."""
        journal_type = "cash" if collection.method == "cash" else "bank"
        Journal = self.env["account.journal"]
        domain = Journal._check_company_domain(collection.company_id)
        return Journal.search(domain + [("type", "=", journal_type)], limit=1) or (
            Journal.search(domain + [("type", "in", ("cash", "bank"))], limit=1)
        )

    def action_apply(self):
        """Confirm or reject each collection: all or nothing."""
        self.ensure_one()
        if not self.line_ids:
            raise UserError(_("Nothing to check."))
        for line in self.line_ids:
            if line.decision == "reject":
                line.collection_id.action_reject(line.reason)
            else:
                line.collection_id.action_confirm(
                    line.received_amount,
                    line.journal_id.id,
                    line.reason,
                    over_receipt=line.over_receipt,
                )
        return {"type": "ir.actions.act_window_close"}


class SaleReconciliationCollectionCheckLine(models.TransientModel):
    _name = "sale.reconciliation.collection.check.line"
    _description = "Check of a Collection"

    wizard_id = fields.Many2one(
        "sale.reconciliation.collection.check", required=True, ondelete="cascade"
    )
    collection_id = fields.Many2one(
        "sale.reconciliation.collection", required=True, readonly=True
    )
    partner_id = fields.Many2one(related="collection_id.partner_id")
    method = fields.Selection(related="collection_id.method")
    reference = fields.Char(related="collection_id.reference")
    currency_id = fields.Many2one(related="collection_id.currency_id")
    amount = fields.Monetary(related="collection_id.amount", string="Collected")
    decision = fields.Selection(
        selection=[("confirm", "Confirm"), ("reject", "Reject")],
        required=True,
        default="confirm",
    )
    received_amount = fields.Monetary(string="Received")
    difference = fields.Monetary(compute="_compute_difference")
    journal_id = fields.Many2one(
        "account.journal",
        string="Received In",
        domain="[('type', 'in', ('cash', 'bank')), ('company_id', '=', company_id)]",
    )
    company_id = fields.Many2one(related="collection_id.company_id")
    reason = fields.Char(
        help="Why the amount received differs, or why the collection is rejected."
    )
    over_receipt = fields.Selection(
        selection=OVER_RECEIPT_CHOICES,
        string="Over-Receipt To",
        required=True,
        default="customer",
        help="Where more than the customer paid the salesperson goes: the "
        "customer's credit, or the company's collection difference account. "
        "A shortfall always goes to that account: the customer is credited with "
        "what they paid.",
    )

    @api.depends("decision", "received_amount", "amount")
    def _compute_difference(self):
        for line in self:
            line.difference = (
                line.received_amount - line.amount
                if line.decision == "confirm"
                else 0.0
            )
