from odoo import models

# Product fields that the reconciliation of the orders selling it reads.
PRODUCT_RECONCILIATION_FIELDS = {"type", "invoice_policy"}


class ProductTemplate(models.Model):
    _inherit = "product.template"

    def write(self, vals):
        # EXTENDS product: goods made a service, or invoiced on delivery
        # instead of on order, reconcile differently on the confirmed orders
        # selling them.
        changed = self.filtered(
            lambda template: any(
                template[fname] != vals[fname]
                for fname in PRODUCT_RECONCILIATION_FIELDS & set(vals)
            )
        )
        if changed:
            # sudo: the orders of every salesperson sell the product; only
            # which ones are read, to mark their figures.
            lines = (
                self.env["sale.order.line"]
                .sudo()
                .search(
                    [
                        ("product_id.product_tmpl_id", "in", changed.ids),
                        ("state", "=", "sale"),
                    ]
                )
            )
        result = super().write(vals)
        if changed:
            self.env["sale.reconciliation.status.refresh"]._mark(orders=lines.order_id)
        return result
