from odoo import _, models
from odoo.exceptions import UserError


class SaleReconciliationStatementScopeMixin(models.AbstractModel):
    """Which customers statements are made for: all, those of some
    salespeople, those with some tags, or a list. The models that use it
    declare ``customer_scope``, ``user_ids``, ``category_ids`` and
    ``partner_ids`` (each with its own relation tables)."""

    _name = "sale.reconciliation.statement.scope.mixin"
    _description = "Customers of Statements"

    def _get_requested_partners(self):
        """The contacts asked for, or None for all customers."""
        self.ensure_one()
        Partner = self.env["res.partner"]
        if self.customer_scope == "all":
            return None
        if self.customer_scope == "salespeople":
            if not self.user_ids:
                raise UserError(_("Choose the salespeople whose customers to include."))
            return Partner.search([("user_id", "in", self.user_ids.ids)])
        if self.customer_scope == "tags":
            if not self.category_ids:
                raise UserError(_("Choose the tags of the customers to include."))
            return Partner.search([("category_id", "in", self.category_ids.ids)])
        if not self.partner_ids:
            raise UserError(_("Choose the customers to make statements for."))
        return self.partner_ids
