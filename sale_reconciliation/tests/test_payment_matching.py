from datetime import timedelta

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import StatementCommon


@tagged("post_install", "-at_install")
class TestPaymentMatching(StatementCommon):
    """Payments received without naming how they settle invoices, matched by
    the wizard's rules and reconciled through Odoo's own reconcile()."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.today = fields.Date.today()

    def days_ago(self, days):
        return self.today - timedelta(days=days)

    def payment(self, amount, memo=None, partner=None, currency=None, date=None):
        payment = self.env["account.payment"].create(
            {
                "amount": amount,
                "date": date or self.today,
                "payment_type": "inbound",
                "partner_type": "customer",
                "partner_id": (partner or self.customer).id,
                "memo": memo,
                **({"currency_id": currency.id} if currency else {}),
            }
        )
        payment.action_post()
        return payment

    def preview(self, rules, **values):
        wizard = self.env["sale.reconciliation.match"].create(
            {"rules": rules, "partner_ids": [(6, 0, self.customer.ids)], **values}
        )
        wizard.action_preview()
        return wizard

    def proposals(self, wizard):
        """(rule, paying document, settled invoices, amount) of each proposal."""
        return [
            (
                line.rule,
                line.credit_line_id.move_id,
                line.debit_line_ids.move_id,
                line.amount,
            )
            for line in wizard.line_ids
        ]

    def test_reference_in_the_memo_whatever_the_spacing_and_case(self):
        first = self.invoice_at(self.days_ago(20), 100.0)
        second = self.invoice_at(self.days_ago(10), 250.0)
        memo = "Payment of " + second.name.lower().replace("/", " / ")
        payment = self.payment(250.0, memo=memo)
        wizard = self.preview("reference")
        self.assertEqual(
            self.proposals(wizard), [("reference", payment.move_id, second, 250.0)]
        )
        wizard.action_apply()
        self.assertEqual(second.reconciliation_state, "reconciled")
        self.assertEqual(first.payment_state, "not_paid")

    def test_reference_is_a_whole_number(self):
        """A memo naming ORDER-77 does not name ORDER-7, nor the reverse."""
        seven = self.invoice_at(self.days_ago(30), 10.0)
        seven.payment_reference = "ORDER-7"
        seventy_seven = self.invoice_at(self.days_ago(20), 10.0)
        seventy_seven.payment_reference = "ORDER-77"
        payment = self.payment(10.0, memo="order 77")
        self.assertEqual(
            self.proposals(self.preview("reference")),
            [("reference", payment.move_id, seventy_seven, 10.0)],
        )

    def test_invoice_payment_reference_is_recognised(self):
        invoice = self.invoice_at(self.days_ago(5), 80.0)
        invoice.payment_reference = "ORDER-778 ACME"
        self.payment(80.0, memo="order 778 acme")
        self.assertEqual(self.proposals(self.preview("reference"))[0][2], invoice)

    def test_exact_amount_only_when_unambiguous(self):
        self.invoice_at(self.days_ago(20), 120.0)
        target = self.invoice_at(self.days_ago(10), 300.0)
        payment = self.payment(300.0)
        self.assertEqual(
            self.proposals(self.preview("amount")),
            [("amount", payment.move_id, target, 300.0)],
        )
        self.invoice_at(self.days_ago(5), 300.0)
        self.assertFalse(self.preview("amount").line_ids, "two invoices of 300")

    def test_exact_sum_of_several_invoices(self):
        self.invoice_at(self.days_ago(30), 100.0)
        second = self.invoice_at(self.days_ago(20), 150.0)
        third = self.invoice_at(self.days_ago(10), 70.0)
        payment = self.payment(220.0)
        self.assertEqual(
            self.proposals(self.preview("amount,combination")),
            [("combination", payment.move_id, second | third, 220.0)],
        )

    def test_fifo_with_a_partial(self):
        older = self.invoice_at(self.days_ago(40), 100.0, due=self.days_ago(10))
        newer = self.invoice_at(self.days_ago(30), 200.0, due=self.days_ago(5))
        payment = self.payment(250.0)
        self.assertFalse(self.preview("reference,amount,combination").line_ids)
        wizard = self.preview("reference,amount,combination,fifo")
        self.assertEqual(
            self.proposals(wizard), [("fifo", payment.move_id, older | newer, 250.0)]
        )
        wizard.action_apply()
        self.assertEqual(older.reconciliation_state, "reconciled")
        self.assertEqual(newer.payment_state, "partial")
        self.assertEqual(newer.amount_residual, 50.0)
        self.assertEqual(newer.reconciliation_state, "partial")

    def test_credit_note_matched_like_a_payment(self):
        invoice = self.invoice_at(self.days_ago(10), 80.0)
        self.invoice_at(self.days_ago(10), 500.0)
        credit_note = self.invoice_at(self.days_ago(2), 80.0, refund=True)
        wizard = self.preview("amount")
        self.assertEqual(
            self.proposals(wizard), [("amount", credit_note, invoice, 80.0)]
        )
        wizard.action_apply()
        self.assertEqual(invoice.payment_state, "reversed")

    def test_no_cross_currency_nor_cross_company(self):
        eur = self.setup_other_currency("EUR")
        self.invoice_at(self.days_ago(10), 100.0)
        self.payment(100.0, currency=eur)
        self.assertFalse(self.preview("amount,combination,fifo").line_ids)
        company_2 = self.setup_other_company()["company"]
        payment_2 = (
            self.env["account.payment"]
            .with_company(company_2)
            .create(
                {
                    "amount": 100.0,
                    "payment_type": "inbound",
                    "partner_type": "customer",
                    "partner_id": self.customer.id,
                    "company_id": company_2.id,
                }
            )
        )
        payment_2.action_post()
        self.assertFalse(self.preview("amount,fifo").line_ids)
        wizard_2 = (
            self.env["sale.reconciliation.match"]
            .with_company(company_2)
            .create({"company_id": company_2.id, "rules": "amount,fifo"})
        )
        wizard_2.action_preview()
        self.assertFalse(wizard_2.line_ids, "no invoice in company 2")

    def test_foreign_currency_matched_within_its_currency(self):
        eur = self.setup_other_currency("EUR")
        invoice = self.invoice_at(self.days_ago(10), 100.0, currency=eur)
        payment = self.payment(100.0, currency=eur)
        wizard = self.preview("amount")
        self.assertEqual(
            self.proposals(wizard), [("amount", payment.move_id, invoice, 100.0)]
        )
        self.assertEqual(wizard.line_ids.currency_id, eur)
        wizard.action_apply()
        self.assertEqual(invoice.reconciliation_state, "reconciled")
        self.assertEqual(invoice.amount_residual, 0.0)

    def test_unticked_proposals_are_not_matched(self):
        first = self.invoice_at(self.days_ago(20), 100.0)
        second = self.invoice_at(self.days_ago(10), 200.0)
        self.payment(100.0)
        self.payment(200.0)
        wizard = self.preview("amount")
        self.assertEqual(len(wizard.line_ids), 2)
        wizard.line_ids.filtered(
            lambda line: first in line.debit_line_ids.move_id
        ).selected = False
        wizard.action_apply()
        self.assertEqual(first.payment_state, "not_paid")
        self.assertEqual(second.reconciliation_state, "reconciled")
        wizard.line_ids.selected = False
        with self.assertRaises(UserError):
            wizard.action_apply()

    def test_apply_unmatch_and_run_again(self):
        invoice = self.invoice_at(self.days_ago(10), 300.0)
        payment = self.payment(300.0)
        self.assertEqual(payment.reconciliation_state, "unmatched")
        self.preview("amount").action_apply()
        self.assertEqual(invoice.reconciliation_state, "reconciled")
        self.assertEqual(payment.reconciliation_state, "matched")
        self.assertFalse(self.preview("reference,amount,combination,fifo").line_ids)

        invoice.line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
        ).remove_move_reconcile()
        self.assertEqual(invoice.reconciliation_state, "open")
        self.assertEqual(payment.reconciliation_state, "unmatched")
        self.assertEqual(len(self.preview("amount").line_ids), 1, "matched again")

    def test_date_and_customer_scope(self):
        self.invoice_at(self.days_ago(40), 100.0)
        self.payment(100.0, date=self.days_ago(30))
        other = self.env["res.partner"].create({"name": "Other customer"})
        self.invoice_at(self.days_ago(40), 100.0, partner=other)
        self.payment(100.0, partner=other)
        self.assertFalse(self.preview("amount", date_from=self.days_ago(20)).line_ids)
        self.assertEqual(len(self.preview("amount").line_ids), 1, "this customer only")
        wizard = self.env["sale.reconciliation.match"].create({"rules": "amount"})
        wizard.action_preview()
        self.assertEqual(len(wizard.line_ids), 2, "every customer")

    def test_unknown_strategy_refused(self):
        with self.assertRaises(ValidationError):
            self.env["sale.reconciliation.match"].create({"rules": "amount,guess"})
        with self.assertRaises(ValidationError):
            self.env.company.match_rules = "amount,amount"

    def test_scheduled_action_runs_the_rules_without_judgement(self):
        named = self.invoice_at(self.days_ago(20), 100.0)
        fifo_only = self.invoice_at(self.days_ago(10), 400.0)
        self.payment(100.0, memo=named.name)
        self.payment(150.0)  # would need FIFO: left alone
        self.env["sale.reconciliation.match"]._cron_match()
        self.assertEqual(named.reconciliation_state, "reconciled")
        self.assertEqual(fifo_only.payment_state, "not_paid")

    @staticmethod
    def aging(statement):
        return {row.name: row.amount for row in statement.aging_ids}

    def test_statement_shows_the_match(self):
        """Before the match the statement ages the invoice as overdue and the
        payment as an open credit; after it, nothing is open."""
        self.invoice_at(self.days_ago(20), 300.0, due=self.days_ago(10))
        self.payment(300.0)
        before = self.make_statement(self.days_ago(30), self.today)
        before.action_refresh()
        self.assertEqual(before.closing_balance, 0.0)
        self.assertEqual(self.aging(before)["1-30 Days"], 300.0)
        self.assertEqual(before.overdue_amount, 300.0)
        before.action_cancel()
        self.preview("amount").action_apply()
        after = self.make_statement(self.days_ago(30), self.today)
        after.action_refresh()
        self.assertEqual(after.closing_balance, 0.0)
        self.assertEqual(self.aging(after)["1-30 Days"], 0.0)
        self.assertEqual(after.overdue_amount, 0.0)
