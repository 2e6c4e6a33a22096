"""Sales order lines: amounts locked by closed periods, reconciliation helpers."""

from odoo import _, api, models
from odoo.tools import float_compare, float_is_zero, format_amount, formatLang

# Line fields whose change changes the amounts of the order (product, unit and
# packaging recompute the quantity, price, discount or taxes).
LINE_AMOUNT_FIELDS = {
    "order_id",
    "display_type",
    "product_id",
    "product_uom",
    "product_uom_qty",
    "product_packaging_id",
    "product_packaging_qty",
    "price_unit",
    "discount",
    "tax_id",
    "price_subtotal",
    "price_tax",
    "price_total",
}

# Line fields that the order's reconciliation figures read.
LINE_RECONCILIATION_FIELDS = {
    "order_id",
    "display_type",
    "is_downpayment",
    "product_id",
    "product_uom",
    "product_uom_qty",
    "qty_delivered",
    "price_unit",
    "discount",
    "invoice_lines",
}


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    @api.model_create_multi
    def create(self, vals_list):
        # EXTENDS sale: no line is added to the amounts of a closed sale.
        lines = super().create(vals_list)
        lines._get_sales_amount_lines()._check_sales_period_open(_("add lines to"))
        lines._mark_reconciliation_refresh()
        return lines

    def write(self, vals):
        # EXTENDS sale: the amounts of orders in a closed period stay as closed.
        if LINE_AMOUNT_FIELDS & set(vals):
            lines = self._get_sales_amount_lines()
            if "display_type" in vals:
                # A section or note made a line, or a line made one.
                lines |= self.filtered(
                    lambda line: line.display_type != (vals["display_type"] or False)
                )
            precision = self.env["decimal.precision"].precision_get(
                "Product Unit of Measure"
            )
            if not float_is_zero(
                vals.get("product_uom_qty") or 0.0, precision_digits=precision
            ):
                # A down payment given a quantity counts.
                lines |= self.filtered(lambda line: not line.display_type)
            lines._check_sales_period_open(_("change the amounts of"))
            if "order_id" in vals and lines:
                self.env["sale.order"].browse(vals["order_id"]).filtered(
                    lambda order: order.state == "sale"
                )._check_sales_period_open(_("add lines to"))
        if LINE_RECONCILIATION_FIELDS & set(vals):
            self._mark_reconciliation_refresh()
            result = super().write(vals)
            self._mark_reconciliation_refresh()
            return result
        return super().write(vals)

    def unlink(self):
        # EXTENDS sale: nor is a line taken out of them.
        self._get_sales_amount_lines()._check_sales_period_open(_("remove lines from"))
        orders = self.order_id.filtered(lambda order: order.state == "sale")
        result = super().unlink()
        # Marked once the lines are gone (unlink() computes what is marked
        # before it).
        self.env["sale.reconciliation.status.refresh"]._mark(orders=orders)
        return result

    def _mark_reconciliation_refresh(self):
        """Have the reconciliation figures of these lines' confirmed orders
        computed in this transaction."""
        self.env["sale.reconciliation.status.refresh"]._mark(
            orders=self.order_id.filtered(lambda order: order.state == "sale")
        )

    def _get_sales_amount_lines(self):
        """The lines that count in their order's amounts: not sections and
        notes, nor down payments without quantity (Odoo adds, prices on
        posting their invoice and deletes those while invoicing)."""
        precision = self.env["decimal.precision"].precision_get(
            "Product Unit of Measure"
        )
        return self.filtered(
            lambda line: not line.display_type
            and not (
                line.is_downpayment
                and float_is_zero(line.product_uom_qty, precision_digits=precision)
            )
        )

    def _check_sales_period_open(self, what):
        """Refuse ``what`` on these lines' confirmed orders dated in a closed
        sales period."""
        self.order_id.filtered(
            lambda order: order.state == "sale"
        )._check_sales_period_open(what)

    def _get_reconciliation_label(self):
        self.ensure_one()
        return self.product_id.display_name or (self.name or "").split("\n")[0]

    def _format_reconciliation_qty(self, qty):
        self.ensure_one()
        return "%s %s" % (
            formatLang(self.env, qty, dp="Product Unit of Measure"),
            self.product_uom.name,
        )

    def _is_reconciliation_product_line(self):
        """Whether the line's quantities are reconciled: a product line, not
        a section, note, down payment or combo (whose items are)."""
        self.ensure_one()
        return not (
            self.display_type or self.is_downpayment or self.product_id.type == "combo"
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
