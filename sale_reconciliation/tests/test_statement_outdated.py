"""No statement out of date with the ledger goes out, and a second statement
of the same customer, currency and period is refused in words."""

from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from .common import StatementCommon


@tagged("post_install", "-at_install")
class TestStatementOutdated(StatementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.statement_review_required = False
        cls.customer.write(
            {"user_id": cls.salesperson.id, "email": "ap@reconciled.example.com"}
        )
        cls.invoice = cls.invoice_at("2025-03-05", 800.0)
        cls.other_customer = cls.env["res.partner"].create(
            {
                "name": "Up To Date Customer",
                "is_company": True,
                "email": "ap@uptodate.example.com",
            }
        )
        cls.invoice_at("2025-03-06", 90.0, partner=cls.other_customer)
        cls.template = cls.env.ref("sale_reconciliation.mail_template_statement")

    def new_statement(self, partner=None):
        return self.make_statement("2025-03-01", "2025-03-31", partner=partner)

    def outdated_statement(self, send=False):
        """A statement confirmed (and sent, with ``send``) before a back-dated
        invoice of 150 was posted into its period."""
        statement = self.new_statement()
        statement.action_confirm()
        if send:
            statement.action_mark_sent()
        self.invoice_at("2025-03-20", 150.0)
        return statement

    def sent_messages(self, statements):
        """What went out: the emails posted on the statements, the emails
        queued for them."""
        messages = self.env["mail.message"].search(
            [
                ("model", "=", statements._name),
                ("res_id", "in", statements.ids),
                ("message_type", "in", ("comment", "email")),
            ]
        )
        mails = self.env["mail.mail"].search(
            [("model", "=", statements._name), ("res_id", "in", statements.ids)]
        )
        return messages, mails

    def composer_send(self, statements, user, mark_sent=True):
        """The email composer as Send by Email opens it (or as a client would
        open it, with the same context); without ``mark_sent``, as the
        chatter's own composer opens it."""
        context = {
            "default_model": statements._name,
            "default_res_ids": statements.ids,
            "default_template_id": self.template.id,
            "default_composition_mode": "comment",
        }
        if mark_sent:
            context["mark_statement_as_sent"] = True
        else:
            context["default_subtype_id"] = self.env.ref("mail.mt_comment").id
        composer = Form(
            self.env["mail.compose.message"].with_user(user).with_context(**context)
        ).save()
        composer._action_send_mail()

    # -------------------------------------------------------------------------
    # A draft out of date
    # -------------------------------------------------------------------------

    def test_draft_says_the_ledger_changed_and_confirming_reads_it_again(self):
        statement = self.new_statement()
        self.assertFalse(statement.ledger_changed)
        self.invoice_at("2025-03-20", 150.0)
        statement.invalidate_recordset(
            ["ledger_changed", "ledger_difference", "ledger_closing_balance"]
        )
        self.assertRecordValues(
            statement,
            [
                {
                    "state": "draft",
                    "closing_balance": 800.0,
                    "ledger_changed": True,
                    "ledger_closing_balance": 950.0,
                    "ledger_difference": 150.0,
                }
            ],
        )
        statement.with_user(self.other_manager).action_confirm()
        statement.invalidate_recordset(["ledger_changed", "ledger_difference"])
        self.assertRecordValues(
            statement,
            [
                {
                    "state": "confirmed",
                    "closing_balance": 950.0,
                    "entry_count": 2,
                    "ledger_changed": False,
                    "ledger_difference": 0.0,
                }
            ],
        )
        self.assertEqual(statement.closing_balance, self.ledger_balance("2025-03-31"))

    # -------------------------------------------------------------------------
    # Sending one out of date
    # -------------------------------------------------------------------------

    def test_every_way_of_sending_refuses_a_statement_out_of_date(self):
        statement = self.outdated_statement()
        up_to_date = self.new_statement(partner=self.other_customer)
        up_to_date.action_confirm()
        manager = self.other_manager
        preparer = statement.create_uid
        ways = {
            "Send by Email": lambda: statement.with_user(manager).action_send(),
            "Handed Over on Paper": lambda: (
                statement.with_user(preparer).action_mark_sent()
            ),
            "several at once": lambda: (
                (up_to_date + statement).with_user(manager).action_send()
            ),
            "the email composer": lambda: self.composer_send(statement, manager),
            "the mail queue": lambda: statement.with_user(manager)._send_queued(),
        }
        for way, send in ways.items():
            with self.subTest(way=way):
                with self.assertRaises(UserError) as caught:
                    send()
                self.assertIn("Revise", str(caught.exception))
                self.assertIn(statement.name, str(caught.exception))
                self.assertIn("950.00", str(caught.exception))
                messages, mails = self.sent_messages(statement + up_to_date)
                self.assertFalse(messages, "nothing posted")
                self.assertFalse(mails, "nothing queued")
                self.assertEqual(
                    (statement + up_to_date).mapped("state"), ["confirmed"] * 2
                )
                self.assertFalse(statement.sent_date)

        # Revise replaces it with a draft read again, which can be sent.
        action = statement.with_user(manager).action_revise()
        revision = self.env["sale.reconciliation.statement"].browse(action["res_id"])
        self.assertEqual(statement.state, "cancel")
        self.assertIn("ledger changed", statement.message_ids[0].body)
        self.assertRecordValues(
            revision,
            [
                {
                    "state": "draft",
                    "revised_from_id": statement.id,
                    "closing_balance": 950.0,
                }
            ],
        )
        revision.with_user(manager).action_confirm()
        self.composer_send(revision, manager)
        self.assertEqual(revision.state, "sent")
        messages, mails = self.sent_messages(revision)
        self.assertTrue(messages.attachment_ids, "the statement PDF went out")

    def test_sent_statement_out_of_date_is_not_sent_again(self):
        statement = self.outdated_statement(send=True)
        manager = self.other_manager
        for way, send in {
            "Send Again": lambda: statement.with_user(manager).action_send(),
            "the email composer": lambda: self.composer_send(statement, manager),
        }.items():
            with self.subTest(way=way):
                with self.assertRaises(UserError) as caught:
                    send()
                self.assertIn("Revise", str(caught.exception))
                self.assertFalse(self.sent_messages(statement)[0])
                self.assertEqual(statement.state, "sent")
        action = statement.with_user(manager).action_revise()
        revision = self.env["sale.reconciliation.statement"].browse(action["res_id"])
        revision.with_user(manager).action_confirm()
        revision.with_user(manager).action_mark_sent()
        self.assertRecordValues(
            statement + revision,
            [
                {"state": "cancel", "closing_balance": 800.0},
                {"state": "sent", "closing_balance": 950.0},
            ],
        )

    def test_the_chatter_does_not_send_a_statement_out_of_date(self):
        """The chatter's own composer, without Send by Email's context key:
        a message to the customer is refused, an internal note is not."""
        statement = self.outdated_statement(send=True)
        manager = self.other_manager
        with self.assertRaises(UserError) as caught:
            self.composer_send(statement, manager, mark_sent=False)
        self.assertIn("Revise", str(caught.exception))
        with self.assertRaises(UserError):
            statement.with_user(manager).message_post(
                body="Your statement",
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
                partner_ids=self.customer.ids,
            )
        self.assertFalse(self.sent_messages(statement)[0])
        note = statement.with_user(manager).message_post(
            body="Ledger changed, revising", message_type="comment"
        )
        self.assertTrue(note.subtype_id.internal)

    def test_revise_only_a_statement_disputed_or_out_of_date(self):
        statement = self.new_statement()
        statement.action_confirm()
        with self.assertRaises(UserError) as caught:
            statement.with_user(self.other_manager).action_revise()
        self.assertIn("still matches the ledger", str(caught.exception))
        self.assertEqual(statement.state, "confirmed")

    def test_statement_run_skips_a_statement_out_of_date(self):
        Run = self.env["sale.reconciliation.statement.run"]
        run = Run.create(
            {
                "date_from": "2025-03-01",
                "date_to": "2025-03-31",
                "customer_scope": "selected",
                "partner_ids": [(6, 0, (self.customer | self.other_customer).ids)],
                "operation": "send",
            }
        )
        run.action_start()
        Run._cron_process_runs()  # the generation chunk
        self.assertEqual(set(run.line_ids.mapped("state")), {"generated"})
        outdated = run.statement_ids.filtered(lambda s: s.partner_id == self.customer)
        # Confirmed by hand before the run sends it; then the ledger changes.
        outdated.with_user(self.other_manager).action_confirm()
        self.invoice_at("2025-03-20", 150.0)
        for _chunk in range(5):
            if run.state != "running":
                break
            Run._cron_process_runs()
        lines = {line.partner_id: line for line in run.line_ids}
        self.assertEqual(lines[self.customer].state, "skipped")
        self.assertIn("Revise", lines[self.customer].reason)
        self.assertIn(outdated.name, lines[self.customer].reason)
        self.assertEqual(lines[self.other_customer].state, "sent")
        self.assertRecordValues(
            run, [{"state": "done", "sent_count": 1, "skipped_count": 1}]
        )
        self.assertEqual(outdated.state, "confirmed")
        self.assertFalse(self.sent_messages(outdated)[1], "no email queued")

    # -------------------------------------------------------------------------
    # A second statement of the same period
    # -------------------------------------------------------------------------

    def test_duplicate_statement_refused_naming_the_first(self):
        first = self.new_statement()
        values = {
            "partner_id": self.customer.id,
            "date_from": "2025-03-01",
            "date_to": "2025-03-31",
        }
        Statement = self.env["sale.reconciliation.statement"]
        with self.assertRaises(UserError) as caught:
            Statement.with_user(self.salesperson).create(values)
        message = str(caught.exception)
        self.assertIn(first.name, message)
        self.assertIn(self.customer.name, message)
        self.assertNotIn("duplicate key", message)
        # Twice in one batch: refused as well, in words.
        first.action_cancel()
        with self.assertRaises(UserError) as caught:
            Statement.create([values, values])
        self.assertIn("two statements", str(caught.exception))

        # A cancelled statement reset to draft beside a live one of its period.
        second = Statement.create(values)
        with self.assertRaises(UserError) as caught:
            first.action_draft()
        self.assertIn(second.name, str(caught.exception))
        self.assertEqual(first.state, "cancel")
