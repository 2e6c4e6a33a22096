import base64
import io

from markupsafe import Markup, escape

from odoo import _, fields, models
from odoo.tools import SQL, format_amount
from odoo.tools.misc import xlsxwriter

# The closing summary's figures of one period, in company currency.
SUMMARY_FIGURES = [
    "summary_revenue",
    "summary_taxes",
    "summary_invoiced",
    "summary_collections",
    "summary_receivable",
    "summary_overdue",
]
SUMMARY_COUNTS = [
    "summary_order_count",
    "summary_invoice_count",
    "summary_refund_count",
    "summary_payment_count",
    "summary_unmatched_payment_count",
    "summary_dispute_count",
]

# Revenue (untaxed, credit notes negative) and quantity of the customer
# invoices posted in a period, by salesperson and by product category.
BREAKDOWN = """
    SELECT 'salesperson' AS kind,
           move.invoice_user_id AS user_id,
           NULL::int AS categ_id,
           -SUM(aml.balance) AS revenue,
           SUM(CASE WHEN move.move_type = 'out_refund' THEN -aml.quantity
                    ELSE aml.quantity END) AS quantity
      FROM account_move_line aml
      JOIN account_move move ON move.id = aml.move_id
     WHERE {where}
     GROUP BY move.invoice_user_id
    UNION ALL
    SELECT 'category', NULL, template.categ_id,
           -SUM(aml.balance),
           SUM(CASE WHEN move.move_type = 'out_refund' THEN -aml.quantity
                    ELSE aml.quantity END)
      FROM account_move_line aml
      JOIN account_move move ON move.id = aml.move_id
      LEFT JOIN product_product product ON product.id = aml.product_id
      LEFT JOIN product_template template ON template.id = product.product_tmpl_id
     WHERE {where}
     GROUP BY template.categ_id
""".format(
    where="""aml.display_type = 'product'
       AND move.move_type IN ('out_invoice', 'out_refund')
       AND move.state = 'posted'
       AND move.company_id = %(company_id)s
       AND move.invoice_date BETWEEN %(date_from)s AND %(date_to)s"""
)

# Receivables of a company at a date: total, and the part past due then
# (what was still open at that date, from the reconciliations made by then).
RECEIVABLES_AT = """
    WITH items AS (
        SELECT aml.id, aml.balance, COALESCE(aml.date_maturity, aml.date) AS due
          FROM account_move_line aml
          JOIN account_account account ON account.id = aml.account_id
         WHERE account.account_type = 'asset_receivable'
           AND aml.parent_state = 'posted'
           AND aml.company_id = %(company_id)s
           AND aml.date <= %(date)s
    ),
    matched AS (
        SELECT item_id, SUM(amount) AS amount FROM (
            SELECT p.debit_move_id AS item_id, -p.amount AS amount
              FROM account_partial_reconcile p
             WHERE p.max_date <= %(date)s
               AND p.debit_move_id IN (SELECT id FROM items)
            UNION ALL
            SELECT p.credit_move_id, p.amount
              FROM account_partial_reconcile p
             WHERE p.max_date <= %(date)s
               AND p.credit_move_id IN (SELECT id FROM items)
        ) sides GROUP BY item_id
    )
    SELECT COALESCE(SUM(i.balance), 0),
           COALESCE(SUM(i.balance + COALESCE(m.amount, 0)) FILTER (
               WHERE i.due < %(date)s AND i.balance + COALESCE(m.amount, 0) > 0), 0)
      FROM items i
      LEFT JOIN matched m ON m.item_id = i.id
"""


class SaleReconciliationPeriodSummaryLine(models.Model):
    _name = "sale.reconciliation.period.summary.line"
    _description = "Sales Period Closing Summary Line"
    _order = "period_id, kind, revenue desc, id"

    period_id = fields.Many2one(
        "sale.reconciliation.period", required=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="period_id.company_id", store=True)
    currency_id = fields.Many2one(related="period_id.currency_id")
    kind = fields.Selection(
        selection=[("salesperson", "Salesperson"), ("category", "Product Category")],
        required=True,
    )
    user_id = fields.Many2one("res.users", string="Salesperson")
    categ_id = fields.Many2one("product.category", string="Product Category")
    revenue = fields.Monetary(help="Untaxed, invoices less credit notes.")
    quantity = fields.Float(digits="Product Unit of Measure")


class SaleReconciliationPeriodCheck(models.Model):
    _name = "sale.reconciliation.period.check"
    _description = "Sales Period Closing Checklist Result"
    _order = "period_id, sequence, id"

    period_id = fields.Many2one(
        "sale.reconciliation.period", required=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="period_id.company_id", store=True)
    sequence = fields.Integer()
    code = fields.Char(required=True)
    name = fields.Char(string="Item", required=True)
    count = fields.Integer(string="Documents")
    blocking = fields.Boolean()
    acknowledged_by = fields.Many2one("res.users")


class SaleReconciliationPeriod(models.Model):
    _inherit = "sale.reconciliation.period"

    currency_id = fields.Many2one(related="company_id.currency_id")
    summary_revenue = fields.Monetary(
        string="Revenue",
        readonly=True,
        copy=False,
        help="Untaxed amount of the customer invoices less credit notes dated in "
        "the period.",
    )
    summary_taxes = fields.Monetary(string="Taxes", readonly=True, copy=False)
    summary_invoiced = fields.Monetary(
        string="Total Invoiced", readonly=True, copy=False
    )
    summary_collections = fields.Monetary(
        string="Collections",
        readonly=True,
        copy=False,
        help="Customer payments dated in the period, less refunds paid out.",
    )
    summary_receivable = fields.Monetary(
        string="Receivables at Period End", readonly=True, copy=False
    )
    summary_overdue = fields.Monetary(
        string="Overdue at Period End", readonly=True, copy=False
    )
    summary_order_count = fields.Integer(string="Orders", readonly=True, copy=False)
    summary_invoice_count = fields.Integer(string="Invoices", readonly=True, copy=False)
    summary_refund_count = fields.Integer(
        string="Credit Notes", readonly=True, copy=False
    )
    summary_payment_count = fields.Integer(string="Payments", readonly=True, copy=False)
    summary_unmatched_payment_count = fields.Integer(
        string="Unmatched Payments", readonly=True, copy=False
    )
    summary_dispute_count = fields.Integer(
        string="Open Disputes", readonly=True, copy=False
    )
    summary_line_ids = fields.One2many(
        "sale.reconciliation.period.summary.line", "period_id", readonly=True
    )
    check_ids = fields.One2many(
        "sale.reconciliation.period.check",
        "period_id",
        string="Checklist at Closing",
        readonly=True,
    )

    def _get_previous_closed(self):
        """The period before this one, as it was last closed."""
        self.ensure_one()
        return self.search(
            [
                ("company_id", "=", self.company_id.id),
                ("date_to", "<", self.date_from),
                ("closed_date", "!=", False),
            ],
            order="date_to desc",
            limit=1,
        )

    def _get_summary_comparison(self):
        """[(label, this period, previous period, difference, % or None)]."""
        self.ensure_one()
        previous = self._get_previous_closed()
        rows = []
        for fname in SUMMARY_FIGURES + SUMMARY_COUNTS:
            current, before = self[fname], previous[fname] if previous else 0
            difference = current - before
            percent = round(100.0 * difference / before, 1) if before else None
            rows.append(
                (
                    self._fields[fname].get_description(self.env)["string"],
                    current,
                    before,
                    difference,
                    percent,
                    fname in SUMMARY_FIGURES,
                )
            )
        return rows

    def _compute_summary_values(self):
        """The closing summary of this period as the documents say now."""
        self.ensure_one()
        company = self.company_id
        # The payments' figures as they are now, not as last refreshed.
        self.env["sale.reconciliation.status.refresh"]._refresh_queued()
        self.env.flush_all()
        in_period = [
            ("company_id", "=", company.id),
            ("state", "=", "posted"),
            ("invoice_date", ">=", self.date_from),
            ("invoice_date", "<=", self.date_to),
        ]
        totals = {
            move_type: (count, untaxed, tax, total)
            for move_type, count, untaxed, tax, total in self.env["account.move"]
            .sudo()
            ._read_group(
                in_period + [("move_type", "in", ("out_invoice", "out_refund"))],
                ["move_type"],
                [
                    "__count",
                    "amount_untaxed_signed:sum",
                    "amount_tax_signed:sum",
                    "amount_total_signed:sum",
                ],
            )
        }
        invoices = totals.get("out_invoice", (0, 0.0, 0.0, 0.0))
        refunds = totals.get("out_refund", (0, 0.0, 0.0, 0.0))
        payments = (
            self.env["account.payment"]
            .sudo()
            .search(
                [
                    ("company_id", "=", company.id),
                    ("partner_type", "=", "customer"),
                    ("state", "not in", ("draft", "canceled", "rejected")),
                    ("date", ">=", self.date_from),
                    ("date", "<=", self.date_to),
                ]
            )
        )
        receivable, overdue = self.env.execute_query(
            SQL(RECEIVABLES_AT, company_id=company.id, date=self.date_to)
        )[0]
        start, end = self._get_datetime_bounds()
        return {
            "summary_revenue": invoices[1] + refunds[1],
            "summary_taxes": invoices[2] + refunds[2],
            "summary_invoiced": invoices[3] + refunds[3],
            "summary_collections": sum(
                payments.mapped("amount_company_currency_signed")
            ),
            "summary_receivable": receivable,
            "summary_overdue": overdue,
            "summary_order_count": self.env["sale.order"]
            .sudo()
            .search_count(
                [
                    ("company_id", "=", company.id),
                    ("state", "=", "sale"),
                    ("date_order", ">=", start),
                    ("date_order", "<", end),
                ]
            ),
            "summary_invoice_count": invoices[0],
            "summary_refund_count": refunds[0],
            "summary_payment_count": len(payments),
            "summary_unmatched_payment_count": len(
                payments.filtered(
                    lambda p: p.reconciliation_state in ("unmatched", "partial")
                )
            ),
            "summary_dispute_count": self.env["sale.reconciliation.statement"]
            .sudo()
            .search_count(
                [
                    ("company_id", "=", company.id),
                    ("state", "=", "disputed"),
                    ("date_to", "<=", self.date_to),
                ]
            ),
            "summary_line_ids": [fields.Command.clear()]
            + [
                fields.Command.create(vals)
                for vals in self._compute_summary_breakdown()
            ],
        }

    def _compute_summary_breakdown(self):
        """Revenue and quantity by salesperson and by product category."""
        self.ensure_one()
        return self.env.execute_query_dict(
            SQL(
                BREAKDOWN,
                company_id=self.company_id.id,
                date_from=self.date_from,
                date_to=self.date_to,
            )
        )

    def _store_closing(self, checklist, acknowledged):
        """Store the summary and the checklist as they are at closing."""
        self.ensure_one()
        values = self._compute_summary_values()
        values["check_ids"] = [fields.Command.clear()] + [
            fields.Command.create(
                {
                    "sequence": index,
                    "code": item["code"],
                    "name": item["label"],
                    "count": item["count"],
                    "blocking": item["blocking"],
                    "acknowledged_by": self.env.uid
                    if item["count"] and item["code"] in acknowledged
                    else False,
                }
            )
            for index, item in enumerate(checklist)
        ]
        self.write(values)

    def _summary_as_html(self):
        """The stored summary, for the chatter history of a reopening."""
        self.ensure_one()
        items = Markup("").join(
            Markup("<li>%s: %s</li>")
            % (
                label,
                format_amount(self.env, current, self.currency_id)
                if money
                else current,
            )
            for label, current, _before, _difference, _percent, money in (
                self._get_summary_comparison()
            )
        )
        return Markup("%s<ul>%s</ul>") % (
            escape(_("Summary of the closing being undone:")),
            items,
        )

    def action_export_xlsx(self):
        self.ensure_one()
        self.check_access("read")
        # sudo: ir.attachment - the file holds only what the user may read,
        # checked above.
        attachment = (
            self.env["ir.attachment"]
            .sudo()
            .create(
                {
                    "name": _("Closing %(name)s.xlsx", name=self.name),
                    "datas": base64.b64encode(self._export_xlsx_bytes()),
                    "mimetype": "application/vnd.openxmlformats-officedocument."
                    "spreadsheetml.sheet",
                    "res_model": self._name,
                    "res_id": self.id,
                }
            )
        )
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{attachment.id}?download=true",
            "target": "download",
        }

    def _export_xlsx_bytes(self):
        """Summary with comparison, breakdowns and checklist, one sheet each."""
        self.ensure_one()
        output = io.BytesIO()
        workbook = xlsxwriter.Workbook(output, {"in_memory": True})
        bold = workbook.add_format({"bold": True})
        digits = self.currency_id.decimal_places
        money = workbook.add_format(
            {"num_format": "#,##0" + ("." + "0" * digits if digits else "")}
        )
        sheet = workbook.add_worksheet(_("Summary"))
        headers = [
            _("Figure"),
            _("This Period"),
            _("Previous Period"),
            _("Difference"),
            "%",
        ]
        sheet.write_row(0, 0, headers, bold)
        sheet.freeze_panes(1, 0)
        sheet.set_column(0, 0, 28)
        sheet.set_column(1, 4, 16)
        for row, (label, current, before, difference, percent, is_money) in enumerate(
            self._get_summary_comparison(), start=1
        ):
            style = money if is_money else None
            sheet.write(row, 0, label)
            sheet.write_number(row, 1, current, style)
            sheet.write_number(row, 2, before, style)
            sheet.write_number(row, 3, difference, style)
            if percent is not None:
                sheet.write_number(row, 4, percent)
        for kind, title in (
            ("salesperson", _("By Salesperson")),
            ("category", _("By Product Category")),
        ):
            sheet = workbook.add_worksheet(title)
            sheet.write_row(0, 0, [_("Name"), _("Revenue"), _("Quantity")], bold)
            sheet.freeze_panes(1, 0)
            sheet.set_column(0, 0, 30)
            lines = self.summary_line_ids.filtered(lambda line, k=kind: line.kind == k)
            for row, line in enumerate(lines, start=1):
                sheet.write(row, 0, (line.user_id or line.categ_id).display_name or "-")
                sheet.write_number(row, 1, line.revenue, money)
                sheet.write_number(row, 2, line.quantity)
            total_row = len(lines) + 1
            sheet.write(total_row, 0, _("Total"), bold)
            sheet.write_formula(
                total_row,
                1,
                f"=SUM(B2:B{total_row})" if lines else "=0",
                money,
                sum(lines.mapped("revenue")),
            )
        sheet = workbook.add_worksheet(_("Checklist"))
        sheet.write_row(
            0, 0, [_("Item"), _("Documents"), _("Blocking"), _("Acknowledged By")], bold
        )
        sheet.set_column(0, 0, 40)
        for row, check in enumerate(self.check_ids, start=1):
            sheet.write(row, 0, check.name)
            sheet.write_number(row, 1, check.count)
            sheet.write(row, 2, _("Yes") if check.blocking else _("No"))
            sheet.write(row, 3, check.acknowledged_by.name or "")
        workbook.close()
        return output.getvalue()
