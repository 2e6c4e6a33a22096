from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .sale_reconciliation_statement import WORKFLOW_GUARD


class SaleReconciliationStatementLine(models.Model):
    _name = "sale.reconciliation.statement.line"
    _description = "Customer Statement Line"
    _order = "statement_id, sequence, id"
    _check_company_auto = True

    statement_id = fields.Many2one(
        "sale.reconciliation.statement",
        required=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(
        related="statement_id.company_id", store=True, index=True
    )
    currency_id = fields.Many2one(related="statement_id.currency_id")
    sequence = fields.Integer(default=10)
    display_type = fields.Selection(
        selection=[("entry", "Journal Item"), ("detail", "Goods")],
        required=True,
        default="entry",
        help="Journal items make the balance; goods lines show, under an invoice "
        "or credit note of a detailed statement, what it charged for.",
    )
    date = fields.Date()
    date_maturity = fields.Date(string="Due Date")
    move_line_id = fields.Many2one(
        "account.move.line",
        string="Journal Item",
        index="btree_not_null",
        ondelete="set null",
    )
    move_id = fields.Many2one("account.move", string="Document", ondelete="set null")
    document_type = fields.Selection(
        selection=[
            ("invoice", "Invoice"),
            ("credit_note", "Credit Note"),
            ("payment", "Payment"),
            ("settlement", "Settled in Another Currency"),
            ("other", "Other"),
        ],
        help="Settled in Another Currency: what a match with a document in "
        "another currency (an invoice in EUR paid in USD, say) took off an "
        "item of this statement.",
    )
    name = fields.Char(string="Number")
    reference = fields.Char(help="The customer's reference or the payment memo.")
    sale_order_refs = fields.Char(string="Sales Orders")
    debit = fields.Monetary()
    credit = fields.Monetary()
    balance = fields.Monetary(help="Running balance after this line.")
    amount_residual = fields.Monetary(
        string="Open at Period End",
        help="Part of this item still open at the end of the statement period.",
    )
    product_id = fields.Many2one("product.product")
    quantity = fields.Float(digits="Product Unit of Measure")
    product_uom_id = fields.Many2one("uom.uom", string="Unit")
    price_unit = fields.Float(string="Unit Price", digits="Product Price")
    price_subtotal = fields.Monetary(string="Amount")
    qty_delivered = fields.Float(
        string="Delivered",
        digits="Product Unit of Measure",
        help="Delivered quantity of the order line the goods were invoiced from.",
    )

    dispute_comment = fields.Char(
        string="Customer's Comment",
        readonly=True,
        copy=False,
        help="What the customer says is wrong with this line, when disputing "
        "the statement.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        # The ledger fill writes the lines in SQL; nothing else makes them.
        self.check_access("create")
        self._check_workflow(_("add lines to a statement"))
        return super().create(vals_list)

    def write(self, vals):
        self.check_access("write")
        self._check_workflow(_("change a statement's lines"))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_frozen(self):
        self._check_workflow(_("delete a statement's lines"))

    def _write_workflow(self, vals):
        """Write lines: for the statement's action methods."""
        return WORKFLOW_GUARD.allow(self).write(vals)

    def _check_workflow(self, what):
        if not self.env["sale.reconciliation.statement"]._is_workflow_write():
            raise UserError(
                _(
                    "A statement's lines are read from the ledger: you cannot "
                    "%(what)s by hand.",
                    what=what,
                )
            )
