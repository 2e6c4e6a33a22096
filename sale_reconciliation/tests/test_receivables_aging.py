import io
import subprocess

import openpyxl

from odoo import fields
from odoo.exceptions import ValidationError
from odoo.tests import new_test_user, tagged

from .common import StatementCommon

AS_OF = "2025-06-30"


@tagged("post_install", "-at_install")
class TestReceivablesAging(StatementCommon):
    """Aged receivables of a customer whose invoices were all issued on
    2025-01-15 and fall due around the as-of date 2025-06-30."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer.user_id = cls.salesperson
        issued = "2025-01-15"
        cls.due_today = cls.invoice_at(issued, 100.0, due="2025-06-30")  # day 0
        cls.due_30 = cls.invoice_at(issued, 200.0, due="2025-05-31")  # day 30
        cls.due_31 = cls.invoice_at(issued, 300.0, due="2025-05-30")  # day 31
        cls.due_120 = cls.invoice_at(issued, 400.0, due="2025-03-02")  # day 120
        cls.due_121 = cls.invoice_at(issued, 500.0, due="2025-03-01")  # day 121
        cls.not_due = cls.invoice_at(issued, 50.0, due="2025-07-15")  # day -15
        cls.other_customer = cls.env["res.partner"].create(
            {"name": "Someone Else's Customer", "is_company": True}
        )
        cls.invoice_at(issued, 1000.0, partner=cls.other_customer, due="2025-06-01")

    def aging(self, date=AS_OF, user=None, **values):
        report = (
            self.env["sale.reconciliation.aging"]
            .with_user(user or self.env.user)
            .create({"date": fields.Date.to_date(date), **values})
        )
        report._compute_aging()
        return report

    def by_bucket(self, report, partner=None):
        partner = partner or self.customer
        return {
            line.bucket_id.name: line.amount
            for line in report.line_ids
            if line.partner_id == partner
        }

    # -------------------------------------------------------------------------

    def test_bucket_boundaries_by_due_date(self):
        report = self.aging()
        self.assertEqual(
            report.bucket_ids.mapped("name"),
            [
                "Not Due",
                "1-30 Days",
                "31-60 Days",
                "61-90 Days",
                "91-120 Days",
                "Over 120 Days",
            ],
        )
        self.assertEqual(
            self.by_bucket(report),
            {
                "Not Due": 150.0,
                "1-30 Days": 200.0,
                "31-60 Days": 300.0,
                "91-120 Days": 400.0,
                "Over 120 Days": 500.0,
            },
        )
        self.assertEqual(report.total, 2550.0)
        self.assertEqual(
            report.line_ids.filtered(
                lambda line: line.partner_id == self.customer
            ).user_id,
            self.salesperson,
        )

    def test_buckets_from_settings_and_by_invoice_date(self):
        self.env.company.aging_bucket_limits = "60, 150"
        self.env.company.aging_basis = "invoice"
        report = self.aging()
        self.assertEqual(report.basis, "invoice")
        # Issued on 2025-01-15: 166 days before the as-of date.
        self.assertEqual(self.by_bucket(report), {"Over 150 Days": 1550.0})
        self.assertEqual(
            self.by_bucket(self.aging(date="2025-03-16")),  # day 60
            {"0-60 Days": 1550.0},
        )
        self.assertEqual(
            self.by_bucket(self.aging(date="2025-03-17")),  # day 61
            {"61-150 Days": 1550.0},
        )
        for wrong in ("60,30", "abc", "0,30", ""):
            with self.subTest(wrong=wrong), self.assertRaises(ValidationError):
                self.env.company.aging_bucket_limits = wrong

    def test_payments_after_the_as_of_date_count_as_unpaid(self):
        self.pay_at(self.due_30, "2025-07-10")
        self.pay_at(self.due_31, "2025-06-15", amount=120.0)  # partial
        then = self.by_bucket(self.aging())
        self.assertEqual(then["1-30 Days"], 200.0)
        self.assertEqual(then["31-60 Days"], 180.0)
        # A month later everything is a month older, and due_30 is paid.
        self.assertEqual(
            self.by_bucket(self.aging(date="2025-07-31")),
            {
                "1-30 Days": 50.0,  # not_due, 16 days
                "31-60 Days": 100.0,  # due_today, 31 days
                "61-90 Days": 180.0,  # due_31, 62 days; due_30 would be here
                "Over 120 Days": 900.0,
            },
        )

    def test_credit_notes_and_unallocated_payments_reduce_the_buckets(self):
        self.invoice_at("2025-06-20", 70.0, refund=True)  # due on its date
        self.receive_at("2025-06-25", 30.0)
        buckets = self.by_bucket(self.aging())
        self.assertEqual(buckets["1-30 Days"], 200.0 - 70.0 - 30.0)

    def test_foreign_currency_in_company_currency(self):
        eur = self.setup_other_currency("EUR", rates=[("2025-01-01", 2.0)])
        self.invoice_at("2025-06-01", 100.0, currency=eur, due="2025-06-20")
        buckets = self.by_bucket(self.aging())
        self.assertEqual(buckets["1-30 Days"], 200.0 + 50.0)

    def test_other_company_and_salespeople(self):
        company_2 = self.setup_other_company()["company"]
        invoice = self.init_invoice(
            "out_invoice",
            partner=self.customer,
            invoice_date=fields.Date.to_date("2025-06-01"),
            amounts=[999.0],
            taxes=[],
            company=company_2,
        )
        invoice.action_post()
        self.assertNotIn(999.0, self.aging().line_ids.mapped("amount"))
        report_2 = self.aging(company_id=company_2.id)
        self.assertEqual(report_2.line_ids.mapped("amount"), [999.0])

        # The salesperson's aging: their own customer only, whatever they ask.
        other_salesperson = new_test_user(
            self.env,
            login="aging_other_salesperson",
            groups="sales_team.group_sale_salesman",
        )
        self.other_customer.user_id = other_salesperson
        own = self.aging(user=self.salesperson)
        self.assertEqual(own.line_ids.partner_id, self.customer)
        theirs = self.aging(user=self.salesperson, user_ids=[other_salesperson.id])
        self.assertFalse(theirs.line_ids)
        # The manager's: everybody's, and the salesperson cannot read those.
        everything = self.aging(user=self.other_manager)
        self.assertEqual(
            everything.line_ids.partner_id, self.customer | self.other_customer
        )
        lines = self.env["sale.reconciliation.aging.line"].with_user(self.salesperson)
        self.assertEqual(
            lines.search([("partner_id", "=", self.other_customer.id)]), lines
        )

    def test_equals_the_statement_aging(self):
        self.pay_at(self.due_31, "2025-06-15", amount=120.0)
        self.env.company.aging_bucket_limits = "30,60,90"
        statement = self.make_statement("2025-06-01", AS_OF)
        report = self.aging()
        buckets = self.by_bucket(report)
        statement_buckets = {row.name: row.amount for row in statement.aging_ids}
        self.assertEqual(
            list(statement_buckets),
            ["Not Due", "1-30 Days", "31-60 Days", "61-90 Days", "Over 90 Days"],
        )
        self.assertEqual(
            {name: buckets.get(name, 0.0) for name in statement_buckets},
            statement_buckets,
        )
        self.assertEqual(sum(buckets.values()), statement.closing_balance)

    def test_drill_down_opens_the_bucket_items(self):
        self.pay_at(self.due_30, "2025-07-10")
        report = self.aging()
        for line in report.line_ids.filtered(
            lambda line: line.partner_id == self.customer
        ):
            action = line.action_open_items()
            items = self.env["account.move.line"].search(action["domain"])
            with self.subTest(bucket=line.bucket_id.name):
                self.assertAlmostEqual(sum(items.mapped("balance")), line.amount)
        over_120 = report.line_ids.filtered(
            lambda line: line.bucket_id.name == "Over 120 Days"
        )
        items = self.env["account.move.line"].search(
            over_120.action_open_items()["domain"]
        )
        self.assertEqual(items.move_id, self.due_121)

    def test_exports_reopen_with_the_totals(self):
        report = self.aging()
        workbook = openpyxl.load_workbook(
            io.BytesIO(report._export_xlsx_bytes()), data_only=True
        )
        sheet = workbook.active
        header = [cell.value for cell in sheet[5]]
        self.assertEqual(header[0], "Customer")
        self.assertEqual(header[-1], "Total")
        rows = {row[0]: row for row in sheet.iter_rows(min_row=6, values_only=True)}
        customer_row = rows[self.customer.display_name]
        self.assertEqual(customer_row[2:8], (150.0, 200.0, 300.0, 0.0, 400.0, 500.0))
        self.assertEqual(customer_row[-1], 1550.0)
        self.assertEqual(rows["Total"][-1], 2550.0)

        pdf, _report_type = (
            self.env["ir.actions.report"]
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf("sale_reconciliation.action_report_aging", report.ids)
        )
        self.assertTrue(pdf.startswith(b"%PDF"))
        text = subprocess.run(
            ["pdftotext", "-layout", "-", "-"],
            input=pdf,
            capture_output=True,
            check=True,
        ).stdout.decode()
        self.assertIn("Aged Receivables", text)
        self.assertIn(self.customer.name, text)
        self.assertIn("1,550.00", text)  # the customer's total
        self.assertIn("2,550.00", text)  # everybody's

    def test_sales_and_invoice_analysis_by_reconciliation_status(self):
        order = self.create_order([(self.product_ordered, 2)])
        self.env.flush_all()
        groups = self.env["sale.report"]._read_group(
            [("order_reference", "=", f"sale.order,{order.id}")],
            ["reconciliation_state", "categ_id"],
            ["price_subtotal:sum"],
        )
        self.assertEqual(groups, [("open", self.product_ordered.categ_id, 100.0)])
        invoice_groups = self.env["account.invoice.report"]._read_group(
            [("move_id", "=", self.due_121.id)],
            ["reconciliation_state"],
            ["price_subtotal:sum"],
        )
        self.assertEqual(invoice_groups, [("open", 500.0)])
