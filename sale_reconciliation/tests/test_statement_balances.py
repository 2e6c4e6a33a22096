from odoo.tests import tagged

from .common import StatementCommon


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
        self.assertEqual(january.aging_1_30, 600.0)

        february = self.make_statement("2025-02-01", "2025-02-28")
        self.assertRecordValues(
            february,
            [
                {
                    # 400 of the February invoice is past due; the 300 on
                    # account is credit, not overdue.
                    "overdue_amount": 400.0,
                    "aging_current": 0.0,
                    "aging_1_30": 100.0,
                    "aging_31_60": 0.0,
                }
            ],
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
