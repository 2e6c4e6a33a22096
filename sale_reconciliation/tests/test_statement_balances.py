import io

import openpyxl

from odoo import fields
from odoo.tests import tagged

from .common import StatementCommon


def aging_of(statement):
    """{bucket: amount} of a statement's aging, as its reader sees it."""
    return {bucket.name: bucket.amount for bucket in statement.aging_ids}


@tagged("post_install", "-at_install")
class TestStatementBalances(StatementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # January: an invoice of 1,000, 400 of it paid.
        cls.january_invoice = cls.invoice_at("2025-01-10", 1000.0)

    def setUp(self):
        super().setUp()
        self.pay_at(self.january_invoice, "2025-01-20", 400.0)
        # February: an invoice of 500 and a credit note of 100 against it,
        # 300 received on account, and the rest of January's invoice paid.
        self.february_invoice = self.invoice_at("2025-02-05", 500.0)

        def hundred(credit_note):
            credit_note.invoice_line_ids.price_unit = 100.0

        self.credit_note = self.refund(
            self.february_invoice, edit=hundred, date="2025-02-10"
        )
        self.on_account = self.receive_at("2025-02-15", 300.0)
        self.final_payment = self.pay_at(self.january_invoice, "2025-02-20")

    def test_balances_equal_the_ledger(self):
        january = self.make_statement("2025-01-01", "2025-01-31")
        february = self.make_statement("2025-02-01", "2025-02-28")
        self.assertRecordValues(
            january + february,
            [
                {
                    "opening_balance": 0.0,
                    "total_debit": 1000.0,
                    "total_credit": 400.0,
                    "closing_balance": 600.0,
                },
                {
                    "opening_balance": 600.0,
                    "total_debit": 500.0,
                    "total_credit": 1000.0,
                    "closing_balance": 100.0,
                },
            ],
        )
        self.assertEqual(february.closing_balance, self.ledger_balance("2025-02-28"))
        self.assertEqual(january.closing_balance, self.ledger_balance("2025-01-31"))

    def test_lines_in_date_order_with_running_balance(self):
        statement = self.make_statement("2025-02-01", "2025-02-28")
        self.assertRecordValues(
            statement.line_ids,
            [
                {
                    "name": self.february_invoice.name,
                    "document_type": "invoice",
                    "debit": 500.0,
                    "credit": 0.0,
                    "balance": 1100.0,
                    "amount_residual": 400.0,
                },
                {
                    "name": self.credit_note.name,
                    "document_type": "credit_note",
                    "debit": 0.0,
                    "credit": 100.0,
                    "balance": 1000.0,
                    "amount_residual": 0.0,
                },
                {
                    "name": self.on_account.move_id.name,
                    "document_type": "payment",
                    "debit": 0.0,
                    "credit": 300.0,
                    "balance": 700.0,
                    "amount_residual": -300.0,
                },
                {
                    "name": self.final_payment.move_id.name,
                    "document_type": "payment",
                    "debit": 0.0,
                    "credit": 600.0,
                    "balance": 100.0,
                    "amount_residual": 0.0,
                },
            ],
        )

    def test_open_amounts_as_of_the_period_end(self):
        # At the end of January, 600 of its invoice was open; it was paid in
        # February, which a January statement made now must not show.
        january = self.make_statement("2025-01-01", "2025-01-31")
        self.assertEqual(january.line_ids[0].amount_residual, 600.0)
        self.assertEqual(january.overdue_amount, 600.0)
        self.assertEqual(aging_of(january)["1-30 Days"], 600.0)

        february = self.make_statement("2025-02-01", "2025-02-28")
        # 400 of the February invoice is past due; the 300 on account is
        # credit, not overdue.
        self.assertEqual(february.overdue_amount, 400.0)
        self.assertEqual(
            aging_of(february),
            {
                "Not Due": 0.0,
                "1-30 Days": 100.0,
                "31-60 Days": 0.0,
                "61-90 Days": 0.0,
                "91-120 Days": 0.0,
                "Over 120 Days": 0.0,
            },
        )

    def test_a_statement_per_currency(self):
        eur = self.setup_other_currency("EUR")
        eur_invoice = self.invoice_at("2025-02-12", 250.0, currency=eur)
        company_statement = self.make_statement("2025-02-01", "2025-02-28")
        self.assertNotIn(eur_invoice.name, company_statement.line_ids.mapped("name"))
        self.assertEqual(company_statement.closing_balance, 100.0)

        eur_statement = self.make_statement(
            "2025-02-01", "2025-02-28", currency_id=eur.id
        )
        self.assertRecordValues(
            eur_statement,
            [
                {
                    "opening_balance": 0.0,
                    "total_debit": 250.0,
                    "closing_balance": 250.0,
                }
            ],
        )
        self.assertEqual(
            eur_statement.closing_balance,
            self.ledger_balance("2025-02-28", currency=eur),
        )
        # The ledger holds it at the rate of the day, in company currency.
        self.assertEqual(eur_invoice.amount_total_signed, 125.0)


@tagged("post_install", "-at_install")
class TestStatementTwoCompanies(StatementCommon):
    def test_other_company_entries_are_not_listed(self):
        company_2 = self.setup_other_company()["company"]
        self.env.user.company_ids |= company_2
        invoice = self.invoice_at("2025-03-03", 700.0)
        other = self.init_invoice(
            "out_invoice",
            partner=self.customer,
            invoice_date="2025-03-04",
            amounts=[900.0],
            taxes=[],
            company=company_2,
            post=True,
        )
        statement = self.make_statement("2025-03-01", "2025-03-31")
        self.assertEqual(statement.line_ids.mapped("name"), [invoice.name])
        self.assertEqual(statement.closing_balance, 700.0)

        statement_2 = (
            self.env["sale.reconciliation.statement"]
            .with_company(company_2)
            .create(
                {
                    "partner_id": self.customer.id,
                    "company_id": company_2.id,
                    "currency_id": company_2.currency_id.id,
                    "date_from": "2025-03-01",
                    "date_to": "2025-03-31",
                }
            )
        )
        self.assertEqual(statement_2.line_ids.mapped("name"), [other.name])
        self.assertEqual(statement_2.closing_balance, 900.0)
        # Each company numbers its own statements.
        self.assertTrue(statement.name.endswith("/00001"), statement.name)
        self.assertTrue(statement_2.name.endswith("/00001"), statement_2.name)


@tagged("post_install", "-at_install")
class TestStatementAging(StatementCommon):
    """A statement's aging is the Aged Receivables report's for the same
    customer and date, in the company's buckets: invoices issued on
    2025-01-15 falling due around the statement's end, 2025-06-30."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        issued = "2025-01-15"
        cls.invoice_at(issued, 100.0, due="2025-06-30")  # day 0
        cls.invoice_at(issued, 200.0, due="2025-05-31")  # day 30
        cls.due_31 = cls.invoice_at(issued, 300.0, due="2025-05-30")  # day 31
        cls.invoice_at(issued, 400.0, due="2025-03-02")  # day 120
        cls.invoice_at(issued, 500.0, due="2025-03-01")  # day 121
        cls.invoice_at(issued, 50.0, due="2025-07-15")  # day -15
        cls.invoice_at("2025-04-20", 80.0, due="2025-05-20")  # day 41
        cls.invoice_at("2025-06-10", 30.0, refund=True)  # day 20

    def setUp(self):
        super().setUp()
        self.pay_at(self.due_31, "2025-06-15", amount=120.0)  # partly paid
        self.pay_at(self.due_31, "2025-07-05", amount=100.0)  # paid later
        self.receive_at("2025-06-25", 45.0)  # on account

    def report_aging(self, date="2025-06-30"):
        """{bucket: amount} of the customer in Aged Receivables, every bucket."""
        report = self.env["sale.reconciliation.aging"].create(
            {"date": fields.Date.to_date(date)}
        )
        report._compute_aging()
        amounts = {bucket.name: 0.0 for bucket in report.bucket_ids}
        for line in report.line_ids.filtered(
            lambda line: line.partner_id == self.customer
        ):
            amounts[line.bucket_id.name] += line.amount
        return amounts

    def assertAgingIsTheReports(self, statement, expected):
        report = self.report_aging(statement.date_to)
        self.assertEqual(list(aging_of(statement).items()), list(report.items()))
        self.assertEqual(aging_of(statement), expected)
        self.assertEqual(
            sum(statement.aging_ids.mapped("amount")), statement.closing_balance
        )

    def test_default_buckets(self):
        statement = self.make_statement("2025-06-01", "2025-06-30")
        self.assertAgingIsTheReports(
            statement,
            {
                "Not Due": 150.0,
                "1-30 Days": 200.0 - 30.0 - 45.0,
                "31-60 Days": 180.0 + 80.0,
                "61-90 Days": 0.0,
                "91-120 Days": 400.0,
                "Over 120 Days": 500.0,
            },
        )

    def test_custom_buckets(self):
        self.env.company.aging_bucket_limits = "45,100"
        statement = self.make_statement("2025-06-01", "2025-06-30")
        self.assertAgingIsTheReports(
            statement,
            {
                "Not Due": 150.0,
                "1-45 Days": 200.0 - 30.0 - 45.0 + 180.0 + 80.0,
                "46-100 Days": 0.0,
                "Over 100 Days": 900.0,
            },
        )

    def test_invoice_date_basis(self):
        self.env.company.aging_bucket_limits = "30,60,150"
        self.env.company.aging_basis = "invoice"
        statement = self.make_statement("2025-06-01", "2025-06-30")
        self.assertAgingIsTheReports(
            statement,
            {
                "0-30 Days": -30.0 - 45.0,
                "31-60 Days": 0.0,
                "61-150 Days": 80.0,
                "Over 150 Days": 100.0 + 200.0 + 180.0 + 400.0 + 500.0 + 50.0,
            },
        )

    def test_buckets_frozen_with_the_statement(self):
        statement = self.make_statement("2025-06-01", "2025-06-30")
        statement.action_confirm()
        before = aging_of(statement)
        self.env.company.aging_bucket_limits = "60"
        self.env.company.aging_basis = "invoice"
        statement.invalidate_recordset()
        self.assertEqual(aging_of(statement), before)
        self.assertEqual(len(before), 6)

    def test_documents_show_the_buckets(self):
        self.env.company.aging_bucket_limits = "30,60,90,120,180"
        statement = self.make_statement("2025-06-01", "2025-06-30")
        html = (
            self.env["ir.actions.report"]
            ._render_qweb_html(
                "sale_reconciliation.action_report_statement", statement.ids
            )[0]
            .decode()
        )
        for label in ("Not Due", "121-180 Days", "Over 180 Days"):
            self.assertIn(label, html)
        self.assertNotIn("Over 90 Days", html)
        sheet = openpyxl.load_workbook(
            io.BytesIO(statement._export_xlsx_bytes()), data_only=True
        ).active
        rows = {
            row[1]: row[9]
            for row in sheet.iter_rows(min_row=7, values_only=True)
            if row[1]
        }
        self.assertEqual(rows["121-180 Days"], 500.0)
        self.assertEqual(rows["91-120 Days"], 400.0)
        self.assertEqual(rows["Total open"], statement.closing_balance)
