from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import SQL, mute_logger

from .common import StatementCommon


@tagged("post_install", "-at_install")
class TestStatementWorkflow(StatementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer.user_id = cls.salesperson
        cls.invoice = cls.invoice_at("2025-03-05", 800.0)

    def new_statement(self, **values):
        return self.make_statement("2025-03-01", "2025-03-31", **values)

    def sent_statement(self):
        statement = self.new_statement()
        statement.action_confirm()
        statement.action_mark_sent()
        return statement

    def test_responsible_defaults_to_the_salesperson(self):
        statement = self.new_statement()
        self.assertEqual(statement.user_id, self.salesperson)
        self.assertEqual(statement.state, "draft")

    def test_confirm_send_accept(self):
        statement = self.new_statement()
        statement.action_confirm()
        self.assertRecordValues(
            statement, [{"state": "confirmed", "confirmed_by_id": self.env.uid}]
        )
        statement.action_mark_sent()
        self.assertEqual(statement.state, "sent")
        self.assertTrue(statement.access_token)

        statement.action_accept(accepted_by="Li Wei")
        self.assertRecordValues(
            statement, [{"state": "accepted", "accepted_by": "Li Wei"}]
        )
        self.assertEqual(len(statement.content_hash), 64)
        self.assertTrue(statement.accepted_date)

    def test_accept_without_a_name_uses_the_customer(self):
        statement = self.sent_statement()
        statement.action_accept()
        self.assertEqual(statement.accepted_by, self.customer.name)

    def test_send_by_email_marks_sent(self):
        statement = self.new_statement()
        statement.action_confirm()
        action = statement.action_send()
        self.assertEqual(action["res_model"], "mail.compose.message")
        composer = Form(
            self.env["mail.compose.message"].with_context(**action["context"])
        ).save()
        self.assertIn(statement.name, composer.subject)
        self.assertTrue(composer.attachment_ids, "the statement PDF is attached")
        composer._action_send_mail()
        self.assertEqual(statement.state, "sent")
        message = statement.message_ids[0]
        self.assertIn(self.customer, message.partner_ids)
        self.assertTrue(message.attachment_ids)

    def test_send_several_at_once(self):
        other_customer = self.env["res.partner"].create(
            {"name": "Second Customer", "is_company": True}
        )
        self.invoice_at("2025-03-06", 90.0, partner=other_customer)
        statements = self.new_statement() + self.new_statement(
            partner_id=other_customer.id
        )
        statements.action_confirm()
        statements.action_send()
        self.assertEqual(statements.mapped("state"), ["sent", "sent"])
        for statement in statements:
            self.assertIn(statement.partner_id, statement.message_ids[0].partner_ids)

    def test_dispute_and_revise(self):
        statement = self.sent_statement()
        with self.assertRaises(UserError):
            statement.action_dispute("  ")
        self.assertEqual(statement.state, "sent")

        wizard = (
            self.env["sale.reconciliation.statement.dispute"]
            .with_context(**statement.action_open_dispute_wizard()["context"])
            .create({"reason": "Invoice INV-88 was returned"})
        )
        wizard.action_dispute()
        self.assertRecordValues(
            statement,
            [{"state": "disputed", "dispute_reason": "Invoice INV-88 was returned"}],
        )

        action = statement.action_revise()
        revision = self.env["sale.reconciliation.statement"].browse(action["res_id"])
        self.assertEqual(statement.state, "cancel")
        self.assertRecordValues(
            revision,
            [
                {
                    "state": "draft",
                    "revised_from_id": statement.id,
                    "partner_id": self.customer.id,
                    "date_from": fields.Date.to_date("2025-03-01"),
                    "date_to": fields.Date.to_date("2025-03-31"),
                    "currency_id": statement.currency_id.id,
                    "closing_balance": 800.0,
                }
            ],
        )

    def test_forbidden_transitions(self):
        statement = self.new_statement()
        for action in (
            statement.action_mark_sent,
            statement.action_accept,
            statement.action_revise,
            statement.action_verify_hash,
        ):
            with self.subTest(action=action.__name__), self.assertRaises(UserError):
                action()
        with self.assertRaises(UserError):
            statement.action_dispute("wrong")
        self.assertEqual(statement.state, "draft")

        statement.action_confirm()
        with self.assertRaises(UserError):
            statement.action_confirm()
        with self.assertRaises(UserError):
            statement.action_refresh()

        statement.action_mark_sent()
        statement.action_accept()
        for action in (
            statement.action_cancel,
            statement.action_draft,
            statement.action_confirm,
            statement.action_accept,
        ):
            with self.subTest(action=action.__name__), self.assertRaises(UserError):
                action()
        self.assertEqual(statement.state, "accepted")

    def test_accepted_statement_cannot_change_nor_be_deleted(self):
        statement = self.sent_statement()
        statement.action_accept()
        with self.assertRaises(UserError):
            statement.user_id = self.other_manager
        with self.assertRaises(UserError):
            statement.line_ids[0].credit = 1.0
        with self.assertRaises(UserError), mute_logger("odoo.models.unlink"):
            statement.unlink()
        with self.assertRaises(UserError), mute_logger("odoo.models.unlink"):
            statement.line_ids.unlink()
        # The chatter still works.
        statement.message_post(body="Filed with the signed slip.")
        self.assertTrue(statement.exists())

    def test_draft_and_cancelled_statements_can_be_deleted(self):
        draft = self.new_statement()
        draft.action_cancel()
        draft.unlink()
        self.assertFalse(draft.exists())

    def test_maker_checker(self):
        self.env.company.statement_review_required = True
        statement = self.new_statement()
        with self.assertRaises(UserError):
            statement.action_confirm()
        self.assertEqual(statement.state, "draft")
        statement.with_user(self.other_manager).action_confirm()
        self.assertRecordValues(
            statement,
            [{"state": "confirmed", "confirmed_by_id": self.other_manager.id}],
        )

        self.env.company.statement_review_required = False
        own = self.make_statement("2025-04-01", "2025-04-30")
        own.action_confirm()
        self.assertEqual(own.state, "confirmed")

    def test_salesperson_prepares_but_does_not_confirm_nor_record_answers(self):
        statement = (
            self.env["sale.reconciliation.statement"]
            .with_user(self.salesperson)
            .create(
                {
                    "partner_id": self.customer.id,
                    "date_from": "2025-03-01",
                    "date_to": "2025-03-31",
                }
            )
        )
        statement.action_refresh()
        for action in (
            statement.action_confirm,
            statement.action_cancel,
            statement.action_send,
        ):
            with self.subTest(action=action.__name__), self.assertRaises(AccessError):
                action()
        statement.sudo().action_confirm()
        statement.sudo().action_mark_sent()
        for action, args in (
            (statement.action_dispute, ("Our books say 780",)),
            (statement.action_accept, ("Ann Buyer",)),
        ):
            with self.subTest(action=action.__name__), self.assertRaises(AccessError):
                action(*args)
        self.assertRecordValues(
            statement,
            [{"state": "sent", "accepted_by": False, "dispute_reason": False}],
        )
        statement.with_user(self.other_manager).action_dispute("Our books say 780")
        self.assertRecordValues(
            statement,
            [
                {
                    "state": "disputed",
                    "answer_channel": "backoffice",
                    "answer_recorded_by_id": self.other_manager.id,
                }
            ],
        )
        with self.assertRaises(AccessError):
            statement.action_revise()
        self.assertEqual(statement.state, "disputed")

    def test_lines_frozen_after_confirmation_and_ledger_change_flagged(self):
        statement = self.new_statement()
        self.assertFalse(statement.ledger_changed)
        statement.action_confirm()
        late_invoice = self.invoice_at("2025-03-20", 150.0)
        self.assertEqual(statement.entry_count, 1)
        self.assertEqual(statement.closing_balance, 800.0)
        statement.invalidate_recordset(["ledger_changed", "ledger_difference"])
        self.assertRecordValues(
            statement,
            [
                {
                    "ledger_changed": True,
                    "ledger_difference": 150.0,
                    "ledger_closing_balance": 950.0,
                }
            ],
        )
        with self.assertRaises(UserError):
            statement.date_to = "2025-03-15"
        with self.assertRaises(UserError):
            statement.line_ids.debit = 950.0

        # Back to draft, it reads the ledger again.
        statement.action_draft()
        self.assertEqual(statement.closing_balance, 950.0)
        self.assertIn(late_invoice.name, statement.line_ids.mapped("name"))
        self.assertFalse(statement.ledger_changed)

    def test_refresh_reads_the_ledger_again(self):
        statement = self.new_statement()
        self.invoice_at("2025-03-21", 50.0)
        self.assertEqual(statement.closing_balance, 800.0)
        statement.action_refresh()
        self.assertEqual(statement.closing_balance, 850.0)
        self.assertEqual(statement.entry_count, 2)

    def test_hash_verified_and_tampering_detected(self):
        statement = self.sent_statement()
        statement.action_accept()
        result = statement.action_verify_hash()
        self.assertEqual(result["params"]["type"], "success")

        line = statement.line_ids[0]
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "UPDATE sale_reconciliation_statement_line SET debit = 8.0 "
                "WHERE id = %s",
                line.id,
            )
        )
        statement.line_ids.invalidate_recordset()
        self.assertFalse(statement._is_content_hash_valid())
        result = statement.action_verify_hash()
        self.assertEqual(result["params"]["type"], "danger")
        self.assertIn(statement.name, result["params"]["message"])


@tagged("post_install", "-at_install")
class TestStatementInputs(StatementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.invoice_at("2025-05-05", 300.0)
        cls.Statement = cls.env["sale.reconciliation.statement"]

    def assertRefused(self, exception, values, message_part):
        count = self.Statement.search_count([])
        with self.assertRaises(exception) as caught:
            self.Statement.create(
                {
                    "partner_id": self.customer.id,
                    "date_from": "2025-05-01",
                    "date_to": "2025-05-31",
                    **values,
                }
            )
        self.assertIn(message_part, str(caught.exception))
        self.assertEqual(self.Statement.search_count([]), count)

    def test_period_upside_down(self):
        self.assertRefused(
            ValidationError,
            {"date_from": "2025-05-31", "date_to": "2025-05-01"},
            "after it ends",
        )

    def test_period_in_the_future(self):
        future = fields.Date.add(fields.Date.today(), days=3)
        self.assertRefused(
            ValidationError,
            {"date_from": future, "date_to": fields.Date.add(future, days=30)},
            "in the future",
        )

    def test_contact_instead_of_customer_company(self):
        contact = self.env["res.partner"].create(
            {"name": "Buyer Person", "parent_id": self.customer.id}
        )
        self.assertRefused(
            ValidationError, {"partner_id": contact.id}, "make the statement"
        )

    def test_currency_without_entries(self):
        eur = self.setup_other_currency("EUR")
        self.assertRefused(ValidationError, {"currency_id": eur.id}, "EUR")

    def test_duplicate_period_refused_until_cancelled(self):
        first = self.make_statement("2025-05-01", "2025-05-31")
        self.assertRefused(
            ValidationError,
            {"date_from": "2025-05-15", "date_to": "2025-06-15"},
            first.name,
        )
        first.action_cancel()
        second = self.make_statement("2025-05-15", "2025-05-31")
        self.assertEqual(second.closing_balance, 300.0)
        # Reviving the cancelled one would overlap again.
        with self.assertRaises(ValidationError):
            first.action_draft()
