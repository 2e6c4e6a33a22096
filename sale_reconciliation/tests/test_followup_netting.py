from unittest.mock import patch

from freezegun import freeze_time

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .test_followup import FollowupCommon


@tagged("post_install", "-at_install")
class TestFollowupNetting(FollowupCommon):
    """What a reminder states, and what puts a customer on hold, is what the
    customer really owes: net of its unapplied payments, credit notes and
    collections in hand, per instalment, in the invoice's currency."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Run = cls.env["sale.reconciliation.followup.run"]
        cls.billing_user = new_test_user(
            cls.env,
            login="followup_billing_user",
            groups="account.group_account_invoice",
            company_id=cls.env.company.id,
        )
        cls.cashier = new_test_user(
            cls.env,
            login="followup_cashier",
            groups="account.group_account_invoice",
            company_id=cls.env.company.id,
        )
        # Who may edit invoices at all, and manage credit or reconciliation.
        cls.billing_credit_manager = new_test_user(
            cls.env,
            login="followup_billing_credit_manager",
            groups="account.group_account_invoice,"
            "sale_reconciliation.group_credit_manager",
            company_id=cls.env.company.id,
        )
        cls.reconciliation_manager = new_test_user(
            cls.env,
            login="followup_reconciliation_manager",
            groups="account.group_account_invoice,"
            "sale_reconciliation.group_reconciliation_manager",
            company_id=cls.env.company.id,
        )

    def run_followup(self):
        """The daily scheduled action, to the end of today's run."""
        for _attempt in range(5):
            self.Run._cron_process()
        return self.Run.search(
            [("company_id", "=", self.env.company.id)], order="id desc", limit=1
        )

    def hold(self):
        return self.customer.with_company(self.env.company).sudo().credit_hold

    # -------------------------------------------------------------------------
    # 1. Net of what the customer has paid
    # -------------------------------------------------------------------------

    def test_unapplied_payment_covering_the_overdue_invoice_stops_everything(self):
        self.invoice_at("2025-02-01", 1000.0, due="2025-03-01")
        self.receive_at("2025-03-10", 1000.0)
        with freeze_time("2025-04-30"):
            profile = self.profile()
            self.assertRecordValues(
                profile,
                [
                    {
                        "followup_due": False,
                        "followup_overdue_amount": 0.0,
                        "followup_credit_amount": 1000.0,
                        "followup_credits_to_match": True,
                    }
                ],
            )
            self.assertIn(
                profile,
                self.Profile.search([("followup_credits_to_match", "=", True)]),
            )
            self.run_followup()
            self.assertFalse(self.mails_to(self.customer))
            self.assertFalse(profile.followup_history_ids)
            self.assertFalse(self.hold())

    def test_partial_credit_reminds_the_net_amount_and_lists_the_credit(self):
        invoice = self.invoice_at("2025-02-01", 1000.0, due="2025-03-01")
        credit_note = self.invoice_at("2025-03-05", 300.0, refund=True)
        with freeze_time("2025-04-30"):
            profile = self.profile()
            self.assertRecordValues(
                profile,
                [
                    {
                        "followup_due": True,
                        "followup_next_level_id": self.final.id,
                        "followup_overdue_amount": 700.0,
                        "followup_credit_amount": 300.0,
                    }
                ],
            )
            self.process(profile)
            history = profile.followup_history_ids
            self.assertEqual(history.amount, 700.0)
            self.assertRecordValues(
                history.line_ids.sorted("kind"),
                [
                    {
                        "kind": "credit",
                        "move_id": credit_note.id,
                        "amount_residual": 300.0,
                        "amount": 300.0,
                    },
                    {
                        "kind": "due",
                        "move_id": invoice.id,
                        "amount_residual": 1000.0,
                        "amount": 700.0,
                    },
                ],
            )
            body = self.mails_to(self.customer).body_html
            self.assertIn("700.00", body)
            self.assertIn(credit_note.name, body)
            self.assertNotIn("1,000.00", body)
            # Still put on hold at the last level: 700 is really owed.
            self.assertTrue(self.hold())

    def test_collection_in_hand_is_not_chased_until_rejected(self):
        invoice = self.invoice_at("2025-02-01", 1000.0, due="2025-03-01")
        self.customer.user_id = self.salesperson
        with freeze_time("2025-04-28"):
            collection = (
                self.env["sale.reconciliation.collection"]
                .with_user(self.salesperson)
                .create(
                    {
                        "partner_id": self.customer.id,
                        "amount": 1000.0,
                        "invoice_ids": [Command.set(invoice.ids)],
                    }
                )
            )
        with freeze_time("2025-04-30"):
            # Nothing to remind: its profile comes from the nightly refresh.
            self.Profile.sudo()._refresh(self.env.company, self.customer.ids)
            profile = self.profile()
            self.assertRecordValues(
                profile, [{"followup_due": False, "followup_overdue_amount": 0.0}]
            )
            self.run_followup()
            self.assertFalse(self.mails_to(self.customer))
            # Handed over, still pending; then the cashier rejects it.
            action = collection.with_user(self.salesperson).action_create_handover()
            handover = self.env["sale.reconciliation.collection.handover"].browse(
                action["res_id"]
            )
            handover.with_user(self.salesperson).cashier_id = self.cashier
            handover.with_user(self.salesperson).action_hand_over()
            profile.invalidate_recordset()
            self.assertFalse(profile.followup_due)
            collection.with_user(self.cashier).action_reject("Nothing arrived")
            profile.invalidate_recordset()
            self.assertRecordValues(
                profile,
                [
                    {
                        "followup_due": True,
                        "followup_next_level_id": self.final.id,
                        "followup_overdue_amount": 1000.0,
                    }
                ],
            )

    # -------------------------------------------------------------------------
    # 2. One level per instalment, sent once
    # -------------------------------------------------------------------------

    def test_instalments_reach_their_own_level_once(self):
        term = self.env["account.payment.term"].create(
            {
                "name": "30% now, 70% in 30 days",
                "line_ids": [
                    Command.create(
                        {"value": "percent", "value_amount": 30.0, "nb_days": 0}
                    ),
                    Command.create(
                        {"value": "percent", "value_amount": 70.0, "nb_days": 30}
                    ),
                ],
            }
        )
        invoice = self.init_invoice(
            "out_invoice",
            partner=self.customer,
            invoice_date=fields.Date.to_date("2025-01-01"),
            amounts=[1000.0],
            taxes=[],
        )
        invoice.invoice_payment_term_id = term
        invoice.action_post()
        first, second = invoice.line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
        ).sorted("date_maturity")
        self.assertEqual(
            (first.date_maturity, second.date_maturity),
            (fields.Date.to_date("2025-01-01"), fields.Date.to_date("2025-01-31")),
        )
        # Three days in a row: one reminder, at the first instalment's level.
        for day in ("2025-02-05", "2025-02-06", "2025-02-07"):
            with freeze_time(day):
                self.run_followup()
        mails = self.mails_to(self.customer)
        self.assertEqual(len(mails), 1)
        history = self.profile().followup_history_ids
        self.assertEqual(history.level_id, self.final)
        self.assertEqual(
            [
                (line["due"], line["days"], line["amount"])
                for line in history._get_lines()
            ],
            [
                (fields.Date.to_date("2025-01-01"), 35, 300.0),
                (fields.Date.to_date("2025-01-31"), 5, 700.0),
            ],
        )
        self.assertEqual(first.sudo().followup_level_id, self.final)
        self.assertEqual(second.sudo().followup_level_id, self.reminder)
        self.assertEqual(invoice.sudo().followup_level_id, self.final)
        self.assertIn("700.00", mails.body_html)
        # The second instalment reaches the firm reminder 15 days after its
        # due date: one more reminder, at that level.
        with freeze_time("2025-02-15"):
            self.run_followup()
            self.run_followup()
        self.assertEqual(len(self.mails_to(self.customer)), 2)
        self.assertEqual(
            self.profile().followup_history_ids.sorted("id")[-1].level_id, self.firm
        )
        self.assertEqual(second.sudo().followup_level_id, self.firm)

    # -------------------------------------------------------------------------
    # 3. In the invoice's currency
    # -------------------------------------------------------------------------

    def test_foreign_currency_invoice_reminded_in_its_currency(self):
        eur = self.setup_other_currency("EUR", rates=[("2025-01-01", 2.0)])
        self.invoice_at("2025-02-01", 1000.0, due="2025-03-01", currency=eur)
        with freeze_time("2025-03-10"):
            profile = self.profile()
            # The company's figure is in its own currency.
            self.assertEqual(profile.followup_overdue_amount, 500.0)
            self.process(profile)
            history = profile.followup_history_ids
            self.assertEqual(history.amount, 500.0)
            self.assertRecordValues(
                history.line_ids,
                [{"currency_id": eur.id, "amount_residual": 1000.0, "amount": 1000.0}],
            )
            self.assertEqual(
                history._get_totals(), [{"currency": eur, "amount": 1000.0}]
            )
            body = self.mails_to(self.customer).body_html
            self.assertIn("1,000.00", body)
            self.assertIn(eur.symbol, body)
            self.assertNotIn("500.00", body)
            html = (
                self.env["ir.actions.report"]
                ._render_qweb_html(
                    "sale_reconciliation.action_report_followup_letter", history.ids
                )[0]
                .decode()
            )
            self.assertIn("1,000.00", html)
            self.assertNotIn("500.00", html)

    def test_payment_in_another_currency_is_not_set_against_the_invoice(self):
        eur = self.setup_other_currency("EUR", rates=[("2025-01-01", 2.0)])
        self.invoice_at("2025-02-01", 1000.0, due="2025-03-01", currency=eur)
        self.receive_at("2025-03-02", 1000.0)  # in the company's currency
        with freeze_time("2025-03-10"):
            profile = self.profile()
            self.assertRecordValues(
                profile,
                [
                    {
                        "followup_due": True,
                        "followup_overdue_amount": 500.0,
                        "followup_credits_to_match": True,
                    }
                ],
            )

    # -------------------------------------------------------------------------
    # 4. Holds stay the credit managers'
    # -------------------------------------------------------------------------

    def test_only_credit_and_reconciliation_managers_mark_disputes(self):
        invoice = self.invoice_at("2025-02-01", 100.0, due="2025-03-01")
        with self.assertRaises(AccessError):
            invoice.with_user(self.billing_user).followup_disputed = True
        with self.assertRaises(AccessError):
            invoice.with_user(self.billing_user).write({"followup_disputed": True})
        self.assertFalse(invoice.followup_disputed)
        # Nor through a default given at creation.
        with self.assertRaises(AccessError):
            self.env["account.move"].with_user(self.billing_user).with_context(
                default_followup_disputed=True
            ).create({"move_type": "out_invoice", "partner_id": self.customer.id})
        invoice.with_user(self.billing_credit_manager).followup_disputed = True
        self.assertTrue(invoice.followup_disputed)
        invoice.with_user(self.reconciliation_manager).followup_disputed = False
        self.assertFalse(invoice.followup_disputed)
        # Editing anything else of the invoice stays as Odoo has it.
        invoice.with_user(self.billing_user).ref = "PO 42"
        self.assertEqual(invoice.ref, "PO 42")

    def test_dispute_stops_escalation_but_keeps_the_hold(self):
        invoice = self.invoice_at("2025-02-01", 100.0, due="2025-03-01")
        other = self.invoice_at("2025-02-20", 50.0, due="2025-03-20")
        with freeze_time("2025-04-01"):
            profile = self.profile()
            self.process(profile)
            self.assertTrue(self.hold())
            self.assertTrue(profile.followup_hold)
            # The customer disputes the invoice that caused the hold: no more
            # escalation for it, but the hold stays.
            invoice.with_user(self.billing_credit_manager).followup_disputed = True
            self.Profile._followup_release(self.env.company)
            self.assertTrue(self.hold())
            profile.invalidate_recordset()
            self.assertEqual(profile.followup_overdue_amount, 50.0)
        with freeze_time("2025-04-25"):
            # 36 days after its due date, the other invoice reaches the last
            # level; the disputed one is not reminded again.
            profile.invalidate_recordset()
            self.assertEqual(profile.followup_next_level_id, self.final)
            self.process(profile)
            last = profile.followup_history_ids.sorted("id")[-1]
            self.assertEqual(last.move_ids, other)
            # The dispute ends without payment: the invoice resumes at the
            # level it had, nothing to send again.
            invoice.with_user(self.billing_credit_manager).followup_disputed = False
            profile.invalidate_recordset()
            self.assertFalse(profile.followup_due)
            self.assertEqual(invoice.line_ids.sudo().followup_level_id, self.final)
            # Paid: the follow-up lifts its hold.
            self.pay_at(invoice | other, "2025-04-25")
            self.Profile._followup_release(self.env.company)
            self.assertFalse(self.hold())

    def test_portal_dispute_does_not_lift_the_hold(self):
        invoice = self.invoice_at("2025-02-01", 100.0, due="2025-03-01")
        with freeze_time("2025-04-01"):
            self.process(self.profile())
            self.assertTrue(self.hold())
            statement = self.make_statement("2025-02-01", "2025-02-28")
            statement.action_confirm()
            statement.action_mark_sent()
            line = statement.line_ids.filtered(lambda st: st.move_id == invoice)
            statement.action_dispute("Wrong price", {line.id: "Price is 90"})
            self.Profile._followup_release(self.env.company)
            self.assertTrue(self.hold(), "a dispute does not lift the hold")
            self.assertFalse(self.profile().followup_due)

    # -------------------------------------------------------------------------
    # 5. A letter from someone, and a way to pay
    # -------------------------------------------------------------------------

    def test_letter_prints_the_company_block_and_the_email_the_pay_link(self):
        self.env.company.write(
            {"street": "12 Ledger Lane", "city": "Cashville", "vat": "BE0477472701"}
        )
        self.env["payment.provider"].create(
            {
                "name": "Card",
                "code": "none",
                "state": "test",
                "company_id": self.env.company.id,
            }
        )
        self.final.print_letter = True
        self.invoice_at("2025-02-01", 100.0, due="2025-03-01")
        with freeze_time("2025-04-01"):
            profile = self.profile()
            self.process(profile)
        history = profile.followup_history_ids
        self.assertTrue(history.pay_url.endswith("/my/invoices/overdue"))
        self.assertIn(history.pay_url, self.mails_to(self.customer).body_html)
        html = (
            self.env["ir.actions.report"]
            ._render_qweb_html(
                "sale_reconciliation.action_report_followup_letter", history.ids
            )[0]
            .decode()
        )
        block = html[html.index('name="company_block"') : html.index('name="address"')]
        for text in (self.env.company.name, "12 Ledger Lane", "Cashville"):
            self.assertIn(text, block)
        self.assertIn("/my/invoices/overdue", html)
        # The final level prints the letter and keeps it with the reminder.
        self.assertIn("12 Ledger Lane", history.letter_id.raw.decode())

    def test_reminder_in_the_customers_language_lists_the_credits(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"].search(
            [("name", "=", "sale_reconciliation")]
        )._update_translations(["zh_CN"], overwrite=True)
        self.customer.lang = "zh_CN"
        self.invoice_at("2025-02-01", 1000.0, due="2025-03-01")
        self.receive_at("2025-03-05", 400.0)
        with freeze_time("2025-03-10"):
            profile = self.profile()
            self.process(profile)
        history = profile.followup_history_ids
        body = self.mails_to(self.customer).body_html
        for words in (
            "应付合计",
            "我们已用您尚未与发票核销的付款抵扣",
            "600.00",
            "400.00",
        ):
            self.assertIn(words, body)
        html = (
            self.env["ir.actions.report"]
            .with_context(lang="zh_CN")
            ._render_qweb_html(
                "sale_reconciliation.action_report_followup_letter", history.ids
            )[0]
            .decode()
        )
        self.assertIn("我们已用您尚未与发票核销的付款抵扣", html)

    # -------------------------------------------------------------------------
    # Audit: what may not lift a hold, nor silence a reminder
    # -------------------------------------------------------------------------

    def test_a_collection_in_hand_does_not_lift_the_hold(self):
        invoice = self.invoice_at("2025-02-01", 1000.0, due="2025-03-01")
        with freeze_time("2025-04-01"):
            self.process(self.profile())
            self.assertTrue(self.hold())
            collection = (
                self.env["sale.reconciliation.collection"]
                .with_user(self.salesperson)
                .create({"partner_id": self.customer.id, "amount": 1000.0})
            )
            # Not chased while in hand...
            self.assertFalse(self.profile().followup_due)
            # ... but the company has not received it: the hold stays.
            self.Profile._followup_release(self.env.company)
            self.assertTrue(self.hold())
            collection.with_user(self.salesperson).unlink()
            # Paid: lifted.
            self.pay_at(invoice, "2025-04-01")
            self.Profile._followup_release(self.env.company)
            self.assertFalse(self.hold())

    def test_nobody_sets_the_levels_reached(self):
        invoice = self.invoice_at("2025-02-01", 1000.0, due="2025-03-01")
        with freeze_time("2025-04-01"):
            self.process(self.profile())
        receivable = invoice.line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
        )
        both = new_test_user(
            self.env,
            login="followup_billing_salesperson",
            groups="account.group_account_invoice,"
            "sale_reconciliation.group_reconciliation_user",
            company_id=self.env.company.id,
        )
        for user in (both, self.billing_credit_manager):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                receivable.with_user(user).write({"followup_level_id": False})
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                invoice.with_user(user).write({"followup_level_id": False})
        with self.assertRaises(AccessError):
            self.env["account.move"].with_user(both).with_context(
                default_followup_level_id=self.final.id
            ).create({"move_type": "out_invoice", "partner_id": self.customer.id})
        self.assertEqual(receivable.sudo().followup_level_id, self.final)
        self.assertTrue(self.hold())

    def test_a_level_reached_is_never_lowered(self):
        invoice = self.invoice_at("2025-02-01", 1000.0, due="2025-03-01")
        with freeze_time("2025-04-01"):
            self.process(self.profile())
        # The final level is archived; the invoice is at the firm reminder's
        # age again for the follow-up, which may not lower its stamp.
        receivable = invoice.line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
        )
        self.final.active = False
        with freeze_time("2025-04-02"):
            profile = self.profile()
            self.assertFalse(profile.followup_due)
            self.Profile._followup_stamp_levels(
                [
                    {
                        "line_id": receivable.id,
                        "move_id": invoice.id,
                        "level_id": self.firm.id,
                    }
                ]
            )
        self.assertEqual(receivable.sudo().followup_level_id, self.final)

    def test_a_payment_without_journal_entry_is_set_against_the_invoice(self):
        """With Accounting, a payment method without outstanding account
        makes no journal entry: the invoice is in payment, its receivable
        still open."""
        invoice = self.invoice_at("2025-02-01", 1000.0, due="2025-03-01")
        with patch.object(
            type(self.env["account.move"]),
            "_get_invoice_in_payment_state",
            lambda self: "in_payment",
        ):
            bank = self.company_data["default_journal_bank"]
            method = bank.inbound_payment_method_line_ids[:1]
            method.payment_account_id = False
            payment = self.env["account.payment"].create(
                {
                    "amount": 1000.0,
                    "date": fields.Date.to_date("2025-03-05"),
                    "payment_type": "inbound",
                    "partner_type": "customer",
                    "partner_id": self.customer.id,
                    "journal_id": bank.id,
                    "payment_method_line_id": method.id,
                    "invoice_ids": [Command.set(invoice.ids)],
                }
            )
            payment.action_post()
        self.assertFalse(payment.move_id)
        self.assertEqual(payment.state, "in_process")
        with freeze_time("2025-04-30"):
            self.Profile.sudo()._refresh(self.env.company, self.customer.ids)
            profile = self.profile()
            self.assertRecordValues(
                profile, [{"followup_due": False, "followup_overdue_amount": 0.0}]
            )
            self.run_followup()
            self.assertFalse(self.mails_to(self.customer))
            self.assertFalse(self.hold())

    def test_reminder_links_the_overdue_payment_page_only_when_it_agrees(self):
        self.env["payment.provider"].create(
            {
                "name": "Card",
                "code": "none",
                "state": "test",
                "company_id": self.env.company.id,
            }
        )
        self.invoice_at("2025-02-01", 1000.0, due="2025-03-01")
        self.receive_at("2025-03-05", 300.0)
        with freeze_time("2025-03-10"):
            profile = self.profile()
            self.process(profile)
        history = profile.followup_history_ids
        # Odoo's page would charge the invoice's 1,000; 700 are owed.
        self.assertFalse(history.pay_url)
        self.assertNotIn("/my/invoices/overdue", self.mails_to(self.customer).body_html)
