import base64
import io

import openpyxl

from odoo import fields
from odoo.tests import tagged

from .common import StatementCommon


@tagged("post_install", "-at_install")
class TestStatementDocuments(StatementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.march_invoice = cls.invoice_at("2025-03-05", 1234.5)

    def setUp(self):
        super().setUp()
        self.pay_at(self.march_invoice, "2025-03-18", 234.5)
        self.statement = self.make_statement("2025-03-01", "2025-03-31")

    def test_report_html_shows_the_figures(self):
        html = (
            self.env["ir.actions.report"]
            ._render_qweb_html(
                "sale_reconciliation.report_statement", self.statement.ids
            )[0]
            .decode()
        )
        for text in (
            "Statement of Account",
            self.statement.name,
            self.march_invoice.name,
            "1,234.50",  # the invoice
            "234.50",  # the payment
            "1,000.00",  # closing balance, and open at the end
            "Opening balance",
            "Confirmation",
            "Over 120 Days",
            self.customer.name,
        ):
            self.assertIn(text, html)

    def test_report_renders_a_real_pdf(self):
        pdf, report_format = (
            self.env["ir.actions.report"]
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf(
                "sale_reconciliation.report_statement", self.statement.ids
            )
        )
        self.assertEqual(report_format, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF"))
        self.assertGreater(len(pdf), 5000)

    def test_detailed_statement_lists_goods_and_deliveries(self):
        order = self.create_order([(self.product_ordered, 4)])
        self.deliver(order, [3])
        invoice = self.invoice(order, post=False)
        invoice.invoice_date = fields.Date.to_date("2025-03-25")
        invoice.invoice_date_due = invoice.invoice_date
        invoice.action_post()
        self.statement.action_cancel()
        statement = self.make_statement(
            "2025-03-01", "2025-03-31", statement_type="detailed"
        )
        details = statement.line_ids.filtered(
            lambda line: line.display_type == "detail" and line.move_id == invoice
        )
        self.assertRecordValues(
            details,
            [
                {
                    "product_id": self.product_ordered.id,
                    "quantity": 4.0,
                    "qty_delivered": 3.0,
                    "price_unit": 50.0,
                    "price_subtotal": 200.0,
                    "sale_order_refs": order.name,
                }
            ],
        )
        entry = statement.line_ids.filtered(
            lambda line: line.move_id == invoice and line.display_type == "entry"
        )
        self.assertEqual(entry.sale_order_refs, order.name)
        self.assertEqual(
            statement.line_ids.filtered(lambda line: line.move_id == invoice).mapped(
                "display_type"
            ),
            ["entry", "detail"],
        )
        self.assertEqual(statement.closing_balance, 1200.0)
        html = (
            self.env["ir.actions.report"]
            ._render_qweb_html("sale_reconciliation.report_statement", statement.ids)[0]
            .decode()
        )
        self.assertIn(self.product_ordered.name, html)
        self.assertIn("delivered", html)

    def test_xlsx_reopens_with_sheets_and_totals(self):
        other_customer = self.env["res.partner"].create(
            {"name": "Other Buyer", "is_company": True}
        )
        self.invoice_at("2025-03-09", 70.0, partner=other_customer)
        statements = self.statement + self.make_statement(
            "2025-03-01", "2025-03-31", partner=other_customer
        )
        action = statements.action_export_xlsx()
        attachment_id = int(action["url"].split("/web/content/")[1].split("?")[0])
        attachment = self.env["ir.attachment"].browse(attachment_id)
        workbook = openpyxl.load_workbook(
            io.BytesIO(base64.b64decode(attachment.datas)), data_only=True
        )
        self.assertEqual(
            workbook.sheetnames,
            [name.replace("/", "-") for name in statements.mapped("name")],
        )
        for statement, sheet in zip(statements, workbook.worksheets, strict=True):
            values = [
                [cell for cell in row] for row in sheet.iter_rows(values_only=True)
            ]
            totals = next(row for row in values if row[1] == "Totals")
            closing = next(row for row in values if row[1] == "Closing balance")
            self.assertEqual(totals[6], statement.total_debit)
            self.assertEqual(totals[7], statement.total_credit)
            self.assertEqual(closing[8], statement.closing_balance)
            self.assertEqual(sheet.freeze_panes, "A7")
        formulas = openpyxl.load_workbook(
            io.BytesIO(base64.b64decode(attachment.datas))
        ).worksheets[0]
        self.assertTrue(
            any(
                isinstance(cell.value, str) and cell.value.startswith("=SUM(")
                for row in formulas.iter_rows()
                for cell in row
            )
        )
