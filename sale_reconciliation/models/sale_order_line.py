"""Sales order lines: amounts locked by closed periods, reconciliation helpers."""

from odoo import _, models
from odoo.tools import float_compare, float_is_zero, format_amount, formatLang


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    def write(self, vals):
        # EXTENDS sale: the amounts of orders in a closed period stay as closed.
        if {"product_uom_qty", "price_unit", "discount", "tax_id"} & set(vals):
            self.order_id.filtered(
                lambda order: order.state == "sale"
            )._check_sales_period_open(_("change the amounts of"))
        return super().write(vals)

    def _get_reconciliation_label(self):
        self.ensure_one()
        return self.product_id.display_name or (self.name or "").split("\n")[0]

    def _format_reconciliation_qty(self, qty):
        self.ensure_one()
        return "%s %s" % (
            formatLang(self.env, qty, dp="Product Unit of Measure"),
            self.product_uom.name,
        )

    def _reconciliation_compare_qty(self, qty1, qty2):
        self.ensure_one()
        rounding = self.product_uom.rounding or 0.01
        return float_compare(qty1, qty2, precision_rounding=rounding)

    def _get_reconciliation_invoiced_qty(self, posted_invoice_lines):
        """Quantity invoiced on posted invoices, net of posted credit notes, in
        the order line's unit of measure."""
        self.ensure_one()
        qty = 0.0
        for aml in self.invoice_lines & posted_invoice_lines:
            line_qty = aml.quantity
            if (
                aml.product_uom_id
                and aml.product_uom_id != self.product_uom
                and aml.product_uom_id.category_id == self.product_uom.category_id
            ):
                line_qty = aml.product_uom_id._compute_quantity(
                    line_qty, self.product_uom
                )
            qty += -line_qty if aml.move_id.move_type == "out_refund" else line_qty
        return qty

    def _get_reconciliation_delivered_qty(self):
        """Delivered quantity; services and other non-goods invoiced on ordered
        quantities have no delivery to wait for."""
        self.ensure_one()
        if self.product_id.type == "consu" or self.product_id.invoice_policy == (
            "delivery"
        ):
            return self.qty_delivered
        return self.product_uom_qty

    def _get_reconciliation_qty_to_invoice_target(self):
        self.ensure_one()
        if self.product_id.invoice_policy == "delivery":
            return self.qty_delivered
        return self.product_uom_qty

    def _get_reconciliation_price_mismatches(self, posted_invoice_lines):
        """Reasons why posted invoice lines of this order line are priced
        differently from it (unit price beyond currency rounding, discount)."""
        self.ensure_one()
        reasons = []
        currency = self.order_id.currency_id
        discount_digits = self.env["decimal.precision"].precision_get("Discount")
        for aml in self.invoice_lines & posted_invoice_lines:
            if aml.currency_id != currency:
                continue
            price = aml.price_unit
            if (
                aml.product_uom_id
                and aml.product_uom_id != self.product_uom
                and aml.product_uom_id.category_id == self.product_uom.category_id
            ):
                price = aml.product_uom_id._compute_price(price, self.product_uom)
            if currency.compare_amounts(price, self.price_unit):
                reasons.append(
                    _(
                        "%(line)s: unit price %(invoice_price)s on %(invoice)s "
                        "differs from %(order_price)s on the order.",
                        line=self._get_reconciliation_label(),
                        invoice_price=format_amount(self.env, price, currency),
                        invoice=aml.move_id.name,
                        order_price=format_amount(self.env, self.price_unit, currency),
                    )
                )
            if not float_is_zero(
                aml.discount - self.discount, precision_digits=discount_digits
            ):
                reasons.append(
                    _(
                        "%(line)s: discount %(invoice_discount)s%% on %(invoice)s "
                        "differs from %(order_discount)s%% on the order.",
                        line=self._get_reconciliation_label(),
                        invoice_discount=aml.discount,
                        invoice=aml.move_id.name,
                        order_discount=self.discount,
                    )
                )
        return reasons
