import io
import subprocess

import openpyxl

from odoo import fields
from odoo.tests import tagged

from .common import StatementCommon


@tagged("post_install", "-at_install")
class TestStatementCurrencies(StatementCommon):
    """A customer invoiced in one currency and paying in another: each
    statement (one per currency) closes at what is really open in its
    currency. The company's currency is USD; 1 USD is 2 EUR in March 2025,
    2.5 EUR from April (the euro falls) and 1.6 EUR from May (it rises)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.usd = cls.env.company.currency_id
        cls.eur = cls.setup_other_currency(
            "EUR",
            rates=[("2025-01-01", 2.0), ("2025-04-01", 2.5), ("2025-05-01", 1.6)],
        )

    def statements(self, date_from, date_to):
        """The customer's USD and EUR statements of the period."""
        return self.make_statement(date_from, date_to) + self.make_statement(
            date_from, date_to, currency_id=self.eur.id
        )

    def pay_in(self, invoices, date, amount, currency):
        return self.pay(
            invoices,
            amount=amount,
            currency_id=currency.id,
            payment_date=fields.Date.to_date(date),
        )

    def assertOpenItemsAddUp(self, statement):
        entries = statement.line_ids.filtered(lambda line: line.display_type == "entry")
        self.assertEqual(
            statement.currency_id.round(sum(entries.mapped("amount_residual"))),
            statement.closing_balance,
            f"open items of {statement.currency_id.name} statement",
        )
        self.assertEqual(
            statement.opening_balance + statement.total_debit - statement.total_credit,
            statement.closing_balance,
        )
        if entries:
            self.assertEqual(entries[-1].balance, statement.closing_balance)
        self.assertEqual(
            sum(statement.aging_ids.mapped("amount")), statement.closing_balance
        )

    def assertNoExchangeDifference(self, statement):
        exchange_journal = self.env.company.currency_exchange_journal_id
        self.assertFalse(
            statement.line_ids.move_id.filtered(
                lambda move: move.journal_id == exchange_journal
            )
        )
        self.assertFalse(
            statement.line_ids.filtered(
                lambda line: line.move_line_id.journal_id == exchange_journal
                and line.document_type != "settlement"
            )
        )

    def exchange_moves(self):
        return self.env["account.move"].search(
            [
                ("journal_id", "=", self.env.company.currency_exchange_journal_id.id),
                ("line_ids.partner_id", "=", self.customer.id),
            ]
        )

    # -------------------------------------------------------------------------

    def test_eur_invoice_paid_in_usd(self):
        invoice = self.invoice_at("2025-03-03", 1000.0, currency=self.eur)
        payment = self.pay_in(invoice, "2025-03-20", 500.0, self.usd)
        self.assertEqual(invoice.payment_state, "paid")
        usd, eur = self.statements("2025-03-01", "2025-03-31")
        self.assertRecordValues(
            usd + eur,
            [
                {
                    "opening_balance": 0.0,
                    "total_debit": 500.0,
                    "total_credit": 500.0,
                    "closing_balance": 0.0,
                    "overdue_amount": 0.0,
                },
                {
                    "opening_balance": 0.0,
                    "total_debit": 1000.0,
                    "total_credit": 1000.0,
                    "closing_balance": 0.0,
                    "overdue_amount": 0.0,
                },
            ],
        )
        self.assertRecordValues(
            usd.line_ids,
            [
                {
                    "document_type": "payment",
                    "name": payment.move_id.name,
                    "reference": invoice.name,
                    "debit": 0.0,
                    "credit": 500.0,
                    "balance": -500.0,
                    "amount_residual": 0.0,
                },
                {
                    "document_type": "settlement",
                    "name": invoice.name,
                    "reference": payment.move_id.name,
                    "debit": 500.0,
                    "credit": 0.0,
                    "balance": 0.0,
                    "amount_residual": 0.0,
                },
            ],
        )
        self.assertRecordValues(
            eur.line_ids,
            [
                {
                    "document_type": "invoice",
                    "name": invoice.name,
                    "reference": False,
                    "debit": 1000.0,
                    "credit": 0.0,
                    "balance": 1000.0,
                    "amount_residual": 0.0,
                },
                {
                    "document_type": "settlement",
                    "name": payment.move_id.name,
                    "reference": invoice.name,
                    "debit": 0.0,
                    "credit": 1000.0,
                    "balance": 0.0,
                    "amount_residual": 0.0,
                },
            ],
        )
        for statement in usd + eur:
            self.assertOpenItemsAddUp(statement)
            self.assertNoExchangeDifference(statement)
        # The ledger check agrees with the statements.
        (usd + eur).action_confirm()
        self.assertEqual((usd + eur).mapped("ledger_changed"), [False, False])
        self.assertEqual((usd + eur).mapped("ledger_difference"), [0.0, 0.0])

    def test_usd_invoice_paid_in_eur(self):
        invoice = self.invoice_at("2025-03-03", 500.0)
        self.pay_in(invoice, "2025-03-20", 1000.0, self.eur)
        self.assertEqual(invoice.payment_state, "paid")
        usd, eur = self.statements("2025-03-01", "2025-03-31")
        self.assertRecordValues(
            usd + eur,
            [
                {"total_debit": 500.0, "total_credit": 500.0, "closing_balance": 0.0},
                {
                    "total_debit": 1000.0,
                    "total_credit": 1000.0,
                    "closing_balance": 0.0,
                },
            ],
        )
        self.assertEqual(
            usd.line_ids.mapped("document_type"), ["invoice", "settlement"]
        )
        self.assertEqual(
            eur.line_ids.mapped("document_type"), ["payment", "settlement"]
        )
        for statement in usd + eur:
            self.assertOpenItemsAddUp(statement)

    def test_partial_payment_in_another_currency(self):
        invoice = self.invoice_at("2025-03-03", 1000.0, currency=self.eur)
        self.pay_in(invoice, "2025-03-20", 200.0, self.usd)  # 400 EUR
        usd, eur = self.statements("2025-03-01", "2025-03-31")
        self.assertEqual(usd.closing_balance, 0.0)
        self.assertRecordValues(
            eur,
            [
                {
                    "total_debit": 1000.0,
                    "total_credit": 400.0,
                    "closing_balance": 600.0,
                    "overdue_amount": 600.0,
                }
            ],
        )
        self.assertEqual(eur.line_ids[0].amount_residual, 600.0)
        self.assertEqual(invoice.amount_residual, 600.0)
        for statement in usd + eur:
            self.assertOpenItemsAddUp(statement)

    def test_settled_at_another_rate_exchange_difference_not_shown(self):
        # 1,000 EUR invoiced at 2 EUR a dollar (500 USD) and paid with 400 USD
        # when the euro had fallen to 2.5: Odoo books an exchange difference
        # of 100 USD against the invoice; the customer owes nothing.
        falling = self.invoice_at("2025-03-03", 1000.0, currency=self.eur)
        self.pay_in(falling, "2025-04-10", 400.0, self.usd)
        # 1,000 EUR invoiced at 2.5 (400 USD) and paid with 625 USD when the
        # euro had risen to 1.6: the exchange difference (225 USD) is booked
        # against the payment.
        rising = self.invoice_at("2025-04-03", 1000.0, currency=self.eur)
        self.pay_in(rising, "2025-05-10", 625.0, self.usd)
        self.assertEqual((falling + rising).mapped("payment_state"), ["paid", "paid"])
        self.assertEqual(len(self.exchange_moves()), 2)

        april_usd, april_eur = self.statements("2025-04-01", "2025-04-30")
        may_usd, may_eur = self.statements("2025-05-01", "2025-05-31")
        self.assertRecordValues(
            april_usd + april_eur + may_usd + may_eur,
            [
                {"opening_balance": 0.0, "closing_balance": 0.0},
                {"opening_balance": 1000.0, "closing_balance": 1000.0},
                {"opening_balance": 0.0, "closing_balance": 0.0},
                {"opening_balance": 1000.0, "closing_balance": 0.0},
            ],
        )
        # What the payment settled, and the exchange difference Odoo booked at
        # the end of the month against it, named after the invoice settled.
        self.assertRecordValues(
            may_usd.line_ids,
            [
                {"date": fields.Date.to_date("2025-05-10"), "debit": 0.0},
                {"date": fields.Date.to_date("2025-05-10"), "debit": 400.0},
                {"date": fields.Date.to_date("2025-05-31"), "debit": 225.0},
            ],
        )
        self.assertEqual(
            may_usd.line_ids[1:].mapped("name"), [rising.name, rising.name]
        )
        self.assertEqual(may_usd.total_credit, 625.0)
        exchange_names = self.exchange_moves().mapped("name")
        for statement in april_usd + april_eur + may_usd + may_eur:
            self.assertOpenItemsAddUp(statement)
            self.assertNoExchangeDifference(statement)
            self.assertFalse(
                set(statement.line_ids.mapped("name")) & set(exchange_names)
            )
            self.assertFalse(
                set(statement.line_ids.mapped("reference")) & set(exchange_names)
            )

    def test_fully_paid_customer_gets_no_more_statements(self):
        invoice = self.invoice_at("2025-01-10", 1000.0, currency=self.eur)
        self.pay_in(invoice, "2025-02-20", 500.0, self.usd)
        Statement = self.env["sale.reconciliation.statement"]
        february, _skipped = Statement._generate_statements(
            fields.Date.to_date("2025-02-01"),
            fields.Date.to_date("2025-02-28"),
            partners=self.customer,
        )
        self.assertEqual(sorted(february.mapped("currency_id.name")), ["EUR", "USD"])
        self.assertEqual(february.mapped("closing_balance"), [0.0, 0.0])
        march, skipped = Statement._generate_statements(
            fields.Date.to_date("2025-03-01"),
            fields.Date.to_date("2025-03-31"),
            partners=self.customer,
        )
        self.assertFalse(march)
        self.assertEqual(
            sorted(currency.name for _partner, currency, _reason in skipped),
            ["EUR", "USD"],
        )

    def test_documents_show_the_settlement(self):
        invoice = self.invoice_at("2025-03-03", 1000.0, currency=self.eur)
        payment = self.pay_in(invoice, "2025-03-20", 500.0, self.usd)
        eur = self.make_statement("2025-03-01", "2025-03-31", currency_id=self.eur.id)
        html = (
            self.env["ir.actions.report"]
            ._render_qweb_html("sale_reconciliation.action_report_statement", eur.ids)[
                0
            ]
            .decode()
        )
        self.assertIn("Settled in Another Currency", html)
        self.assertIn(payment.move_id.name, html)
        workbook = openpyxl.load_workbook(
            io.BytesIO(eur._export_xlsx_bytes()), data_only=True
        )
        rows = list(workbook.active.iter_rows(min_row=7, values_only=True))
        settlement = next(row for row in rows if row[1] == payment.move_id.name)
        self.assertEqual(settlement[2], "Settled in Another Currency")
        self.assertEqual(settlement[7], 1000.0)  # credit
        closing = next(row for row in rows if row[1] == "Closing balance")
        self.assertEqual(closing[8], 0.0)
        pdf, _report_type = (
            self.env["ir.actions.report"]
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf("sale_reconciliation.action_report_statement", eur.ids)
        )
        text = subprocess.run(
            ["pdftotext", "-layout", "-", "-"],
            input=pdf,
            capture_output=True,
            check=True,
        ).stdout.decode()
        self.assertIn("Settled in Another Currency", text)
