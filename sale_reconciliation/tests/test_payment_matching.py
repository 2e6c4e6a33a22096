from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from ..wizards import sale_reconciliation_match as match_module
from .common import StatementCommon


class PaymentMatchingCommon(StatementCommon):
    """Payments, previews and their proposals, for the matching's tests."""

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

    def receivable_line(self, record):
        move = record.move_id if record._name == "account.payment" else record
        return move.line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
        )


@tagged("post_install", "-at_install")
class TestPaymentMatching(PaymentMatchingCommon):
    """Payments received without naming how they settle invoices, matched by
    the wizard's rules and reconciled through Odoo's own reconcile()."""

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

    def test_short_letter_references_never_match_on_their_own(self):
        """A letter-only reference shorter than six letters names nothing,
        and no reference is found inside another word."""
        acme = self.invoice_at(self.days_ago(30), 100.0)
        acme.payment_reference = "ACME"
        january = self.invoice_at(self.days_ago(20), 200.0)
        january.payment_reference = "JAN"
        corporate = self.invoice_at(self.days_ago(10), 300.0)
        corporate.payment_reference = "ACME-CORP"
        self.payment(100.0, memo="MACMEX shipment")
        self.payment(200.0, memo="January invoices")
        self.payment(100.0, memo="acme")
        self.payment(300.0, memo="MACME CORPS")
        self.assertFalse(self.preview("reference").line_ids)
        payment = self.payment(300.0, memo="Acme Corp, balance")
        self.assertEqual(
            self.proposals(self.preview("reference")),
            [("reference", payment.move_id, corporate, 300.0)],
        )

    def test_invoice_number_between_separators(self):
        """The invoice number is found whatever the separators, case and
        spacing of the memo, but not glued to another word."""
        invoices = [
            self.invoice_at(self.days_ago(30 - index), amount)
            for index, amount in enumerate((100.0, 200.0, 300.0, 400.0))
        ]
        memos = [
            "Payment " + invoices[0].name.lower().replace("/", " "),
            invoices[1].name.replace("/", "", 1),
            f"付款{invoices[2].name}。",
            "REF" + invoices[3].name,
        ]
        payments = [
            self.payment(invoice.amount_total, memo=memo)
            for invoice, memo in zip(invoices, memos, strict=True)
        ]
        self.assertEqual(
            self.proposals(self.preview("reference")),
            [
                ("reference", payment.move_id, invoice, invoice.amount_total)
                for invoice, payment in zip(invoices[:3], payments, strict=False)
            ],
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

    def other_receivable_account(self):
        return self.env["account.account"].create(
            {
                "name": "Receivable, second ledger",
                "code": "121900",
                "account_type": "asset_receivable",
                "reconcile": True,
            }
        )

    def test_items_matched_within_their_receivable_account(self):
        """A customer's invoices and payments on two receivable accounts are
        matched account by account, all in one Apply."""
        first_account = self.customer.property_account_receivable_id
        second_account = self.other_receivable_account()
        invoice_1 = self.invoice_at(self.days_ago(20), 100.0)
        self.customer.property_account_receivable_id = second_account
        invoice_2 = self.invoice_at(self.days_ago(10), 300.0)
        payment_2 = self.payment(300.0, date=self.days_ago(5))
        self.customer.property_account_receivable_id = first_account
        payment_1 = self.payment(100.0)
        self.assertEqual(self.receivable_line(invoice_2).account_id, second_account)
        self.assertEqual(self.receivable_line(payment_2).account_id, second_account)
        wizard = self.preview("fifo")
        self.assertEqual(
            sorted(self.proposals(wizard), key=lambda proposal: proposal[3]),
            [
                ("fifo", payment_1.move_id, invoice_1, 100.0),
                ("fifo", payment_2.move_id, invoice_2, 300.0),
            ],
        )
        self.assertEqual(
            wizard.line_ids.mapped("account_id"), first_account | second_account
        )
        action = wizard.action_apply()
        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(wizard.line_ids.mapped("state"), ["matched", "matched"])
        for invoice in invoice_1 | invoice_2:
            self.assertEqual(invoice.reconciliation_state, "reconciled")
            self.assertEqual(invoice.amount_residual, 0.0)
        self.assertEqual(payment_1.reconciliation_state, "matched")
        self.assertEqual(payment_2.reconciliation_state, "matched")

    def test_refused_proposal_reported_while_the_others_apply(self):
        """Between the preview and the match, one invoice is reset to draft and
        another paid: Odoo refuses their proposals, which change nothing and
        are shown with Odoo's reason; the third is matched."""
        drafted = self.invoice_at(self.days_ago(30), 100.0)
        paid = self.invoice_at(self.days_ago(20), 200.0)
        kept = self.invoice_at(self.days_ago(10), 300.0)
        payments = [self.payment(amount) for amount in (100.0, 200.0, 300.0)]
        wizard = self.preview("amount")
        self.assertEqual(len(wizard.line_ids), 3)
        drafted.button_draft()
        self.pay(paid)

        action = wizard.action_apply()
        self.assertEqual(action["res_model"], wizard._name)
        self.assertEqual(action["res_id"], wizard.id)
        self.assertEqual(wizard.state, "done")
        result = {
            line.debit_line_ids.move_id: (line.state, line.refusal)
            for line in wizard.line_ids
        }
        self.assertEqual(result[kept], ("matched", False))
        self.assertEqual(result[drafted][0], "refused")
        self.assertIn("posted", result[drafted][1])
        self.assertEqual(result[paid][0], "refused")
        self.assertIn("already reconciled", result[paid][1])

        self.assertEqual(kept.reconciliation_state, "reconciled")
        self.assertEqual(payments[2].reconciliation_state, "matched")
        self.assertEqual(drafted.state, "draft")
        self.assertEqual(payments[0].reconciliation_state, "unmatched")
        self.assertEqual(payments[1].reconciliation_state, "unmatched")
        self.assertFalse(self.receivable_line(payments[1]).matched_debit_ids)
        self.assertEqual(paid.amount_residual, 0.0)
        with self.assertRaises(UserError):
            wizard.action_apply()
        self.assertEqual(payments[0].reconciliation_state, "unmatched")

    def six_proposals(self):
        """Six invoices, each with a payment of its exact amount, and the
        wizard proposing them, in the payments' order."""
        amounts = (100.0, 200.0, 300.0, 400.0, 500.0, 600.0)
        invoices = [
            self.invoice_at(self.days_ago(60 - index), amount)
            for index, amount in enumerate(amounts)
        ]
        payments = [
            self.payment(amount, date=self.days_ago(30 - index))
            for index, amount in enumerate(amounts)
        ]
        wizard = self.preview("amount")
        self.assertEqual(
            [line.credit_line_id.payment_id for line in wizard.line_ids], payments
        )
        return invoices, payments, wizard

    def test_proposals_reconciled_in_batches(self):
        """Six proposals in batches of three: two savepoints, each flushing
        once what a commit runs first, not one per proposal."""
        invoices, payments, wizard = self.six_proposals()
        Cursor = type(self.env.cr)
        savepoint = Cursor.savepoint
        savepoints = []

        def counted_savepoint(cr, flush=True):
            savepoints.append(flush)
            return savepoint(cr, flush=flush)

        with (
            patch.object(match_module, "RECONCILE_BATCH_SIZE", 3),
            patch.object(Cursor, "savepoint", counted_savepoint),
        ):
            matched, refused = wizard.line_ids._reconcile()
        self.assertEqual(savepoints, [True, True])
        self.assertEqual(matched, wizard.line_ids)
        self.assertFalse(refused)
        for invoice, payment in zip(invoices, payments, strict=True):
            self.assertEqual(invoice.payment_state, "paid")
            self.assertEqual(payment.reconciliation_state, "matched")

    def test_refused_proposal_of_a_batch_reported_while_the_others_apply(self):
        """Six proposals in batches of three; Odoo refuses the second and the
        fourth (their invoices reset to draft since the preview): they are
        reported with Odoo's reason and change nothing, the four others of
        their batches are matched."""
        invoices, payments, wizard = self.six_proposals()
        invoices[1].button_draft()
        invoices[3].button_draft()
        with patch.object(match_module, "RECONCILE_BATCH_SIZE", 3):
            matched, refused = wizard.line_ids._reconcile()
        self.assertEqual(refused.debit_line_ids.move_id, invoices[1] | invoices[3])
        self.assertEqual(matched, wizard.line_ids - refused)
        for line in refused:
            self.assertEqual(line.state, "refused")
            self.assertIn("posted", line.refusal)
        for index in (0, 2, 4, 5):
            self.assertEqual(invoices[index].payment_state, "paid")
            self.assertEqual(payments[index].reconciliation_state, "matched")
        for index in (1, 3):
            self.assertEqual(invoices[index].state, "draft")
            self.assertEqual(payments[index].reconciliation_state, "unmatched")
            self.assertFalse(self.receivable_line(payments[index]).reconciled)

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
