from unittest.mock import patch

from freezegun import freeze_time

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged

from odoo.addons.sale_reconciliation.models.sale_reconciliation_statement_run import (
    CHUNK_SIZE_PARAM,
)
from odoo.addons.sale_reconciliation.models.sale_reconciliation_statement_run_line import (  # noqa: E501
    SaleReconciliationStatementRunLine,
)

from .common import StatementCommon


class Killed(BaseException):
    """The worker dies in the middle of a chunk (not an error a customer
    could be blamed for)."""


@tagged("post_install", "-at_install")
class TestStatementRun(StatementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.alpha = Partner.create(
            {
                "name": "Alpha Trading",
                "is_company": True,
                "email": "accounts@alpha.example.com",
                "user_id": cls.salesperson.id,
            }
        )
        cls.beta = Partner.create(
            {"name": "Beta Stores", "is_company": True, "email": "hq@beta.example.com"}
        )
        cls.beta_billing = Partner.create(
            {
                "name": "Beta Billing",
                "parent_id": cls.beta.id,
                "type": "invoice",
                "email": "billing@beta.example.com",
            }
        )
        cls.gamma = Partner.create({"name": "Gamma Without Email", "is_company": True})
        cls.quarterly = Partner.create(
            {
                "name": "Quarterly Ltd",
                "is_company": True,
                "email": "q@quarterly.example.com",
                "statement_frequency": "quarterly",
            }
        )
        cls.never = Partner.create(
            {
                "name": "Never Ltd",
                "is_company": True,
                "email": "n@never.example.com",
                "statement_frequency": "never",
            }
        )
        cls.salesperson.email = "sales.person@example.com"
        for partner in (cls.alpha, cls.beta, cls.gamma, cls.never):
            cls.invoice_at("2025-04-03", 100.0, partner=partner)
        cls.invoice_at("2025-02-10", 300.0, partner=cls.quarterly)
        cls.invoice_at("2025-04-10", 50.0, partner=cls.quarterly)
        cls.portal_user = new_test_user(
            cls.env, login="statement_run_portal", groups="base.group_portal"
        )

    def mails_of(self, statements):
        return self.env["mail.mail"].search(
            [
                ("model", "=", "sale.reconciliation.statement"),
                ("res_id", "in", statements.ids),
            ]
        )

    def test_run_generates_confirms_and_queues_emails(self):
        self.env.company.statement_cc_salesperson = True
        self.env["ir.config_parameter"].set_param(CHUNK_SIZE_PARAM, "1")
        run = self.make_statement_run(self.alpha | self.beta)
        run.action_start()
        self.assertEqual(run.state, "running")
        self.assertEqual(set(run.line_ids.mapped("state")), {"todo"})
        self.assertEqual(run.progress, 0.0)

        Run = self.env["sale.reconciliation.statement.run"]
        Run._cron_process_runs()
        self.assertEqual(run.generated_count, 1, "one customer per chunk")
        # Generating the other, then sending each: the last chunk ends the run.
        for _chunk in range(3):
            Run._cron_process_runs()
        self.assertEqual(run.state, "done")

        self.assertRecordValues(
            run,
            [
                {
                    "state": "done",
                    "customer_count": 2,
                    "generated_count": 2,
                    "confirmed_count": 2,
                    "sent_count": 2,
                    "skipped_count": 0,
                    "failed_count": 0,
                    "progress": 100.0,
                }
            ],
        )
        statements = run.statement_ids
        self.assertEqual(statements.partner_id, self.alpha | self.beta)
        self.assertEqual(set(statements.mapped("state")), {"sent"})
        for statement in statements:
            attachments = self.env["ir.attachment"].search(
                [
                    ("res_model", "=", statement._name),
                    ("res_id", "=", statement.id),
                ]
            )
            self.assertEqual(len(attachments), 1, "the statement rendered once")
        mails = self.mails_of(statements)
        self.assertEqual(len(mails), 2, "one email per statement")
        self.assertEqual(set(mails.mapped("state")), {"outgoing"}, "queued, not sent")
        alpha_mail = mails.filtered(lambda m: m.res_id == statements[0].id)
        by_partner = {
            statement.partner_id: mails.filtered(
                lambda m, s=statement: m.res_id == s.id
            )
            for statement in statements
        }
        # Alpha's own address; Beta's invoice address, not its head office.
        self.assertEqual(by_partner[self.alpha].recipient_ids, self.alpha)
        self.assertEqual(by_partner[self.beta].recipient_ids, self.beta_billing)
        self.assertIn("sales.person@example.com", by_partner[self.alpha].email_cc)
        self.assertFalse(by_partner[self.beta].email_cc, "Beta has no salesperson")
        self.assertTrue(alpha_mail.attachment_ids)

    def test_statement_contact_and_no_copy_when_option_off(self):
        self.alpha.statement_contact_id = self.env["res.partner"].create(
            {
                "name": "Alpha Accounts Payable",
                "parent_id": self.alpha.id,
                "email": "ap@alpha.example.com",
            }
        )
        run = self.make_statement_run(self.alpha)
        run.action_start()
        self.process_statement_runs()
        mail = self.mails_of(run.statement_ids)
        self.assertEqual(mail.recipient_ids, self.alpha.statement_contact_id)
        self.assertFalse(mail.email_cc)

    def test_statement_contact_is_a_contact_of_the_customer(self):
        """A salesperson cannot send a customer's statements to an address of
        their choosing: the statement contact is one of the customer's own
        contacts, and a stray one already stored is never emailed."""
        stranger = self.env["res.partner"].create(
            {"name": "Somebody Else", "email": "leak@elsewhere.example"}
        )
        # Odoo's users get Contact Creation by default.
        sales_user = new_test_user(
            self.env,
            login="statement_contact_sales_user",
            groups="sales_team.group_sale_salesman,base.group_partner_manager",
        )
        for user in (sales_user, self.env.user):
            with self.subTest(user=user.login), self.assertRaises(ValidationError):
                self.alpha.with_user(user).write({"statement_contact_id": stranger.id})
        self.assertFalse(self.alpha.statement_contact_id)
        with self.assertRaises(ValidationError):
            self.env["res.partner"].create(
                {"name": "New Customer", "statement_contact_id": stranger.id}
            )
        # Stored before the check existed: the invoice address is used.
        self.env.cr.execute(
            "UPDATE res_partner SET statement_contact_id = %s WHERE id = %s",
            (stranger.id, self.alpha.id),
        )
        self.alpha.invalidate_recordset(["statement_contact_id"])
        run = self.make_statement_run(self.alpha)
        run.action_start()
        self.process_statement_runs()
        mail = self.mails_of(run.statement_ids)
        self.assertEqual(mail.recipient_ids, self.alpha)

    def test_customer_without_email_fails_while_others_are_sent(self):
        run = self.make_statement_run(self.alpha | self.gamma)
        run.action_start()
        self.process_statement_runs()
        self.assertRecordValues(
            run,
            [{"state": "failed", "sent_count": 1, "failed_count": 1}],
        )
        self.assertEqual(run.failed_line_ids.partner_id, self.gamma)
        self.assertIn("No email address", run.failed_line_ids.reason)
        gamma_statement = run.statement_ids.filtered(
            lambda s: s.partner_id == self.gamma
        )
        self.assertEqual(gamma_statement.state, "draft", "its confirmation undone")
        self.assertFalse(self.mails_of(gamma_statement))
        self.assertEqual(
            run.statement_ids.filtered(lambda s: s.partner_id == self.alpha).state,
            "sent",
        )

    def test_resume_after_interruption_in_a_chunk(self):
        self.env["ir.config_parameter"].set_param(CHUNK_SIZE_PARAM, "3")
        run = self.make_statement_run(self.alpha | self.beta | self.quarterly)
        run.action_start()
        Run = self.env["sale.reconciliation.statement.run"]
        Run._cron_process_runs()  # the generation chunk
        self.assertEqual(run.generated_count, 3)
        self.assertEqual(run.sent_count, 0)

        advance = SaleReconciliationStatementRunLine._advance
        calls = []

        def advance_then_die(line):
            calls.append(line.partner_id)
            if len(calls) == 2:
                raise Killed()
            return advance(line)

        with (
            patch.object(
                SaleReconciliationStatementRunLine, "_advance", advance_then_die
            ),
            self.assertRaises(Killed),
            self.env.cr.savepoint(),
        ):
            Run._cron_process_runs()
        # The whole chunk rolled back: the first customer's email and state too.
        self.assertEqual(run.sent_count, 0)
        self.assertEqual(run.confirmed_count, 0)
        self.assertFalse(self.mails_of(run.statement_ids))
        self.assertEqual(set(run.statement_ids.mapped("state")), {"draft"})

        self.process_statement_runs()
        self.assertRecordValues(run, [{"state": "done", "sent_count": 3}])
        statements = self.env["sale.reconciliation.statement"].search(
            [("partner_id", "in", (self.alpha | self.beta | self.quarterly).ids)]
        )
        self.assertEqual(len(statements), 3, "no statement generated twice")
        self.assertEqual(len(self.mails_of(statements)), 3, "no email sent twice")

    def test_scheduled_run_follows_frequency(self):
        company = self.env.company
        company.write(
            {
                "statement_auto_generate": True,
                "statement_generation_day": 2,
                "statement_auto_send": True,
            }
        )
        Run = self.env["sale.reconciliation.statement.run"]
        with freeze_time("2025-05-02"):
            self.env["sale.reconciliation.statement"]._cron_generate_statements()
        run = Run.search([("date_from", "=", "2025-04-01")])
        self.assertEqual(len(run), 1)
        self.assertEqual(run.operation, "send")
        self.process_statement_runs()
        lines = {line.partner_id: line for line in run.line_ids}
        self.assertEqual(lines[self.quarterly].state, "skipped")
        self.assertIn("Quarterly", lines[self.quarterly].reason)
        self.assertEqual(lines[self.never].state, "skipped")
        self.assertEqual(lines[self.alpha].state, "sent")
        self.assertEqual(lines[self.gamma].state, "failed")
        self.assertFalse(
            run.statement_ids.filtered(lambda s: s.partner_id == self.quarterly)
        )
        self.assertGreaterEqual(run.skipped_count, 2)

        # In the quarter's last month, the quarterly customer gets the quarter.
        with freeze_time("2025-04-02"):
            self.env["sale.reconciliation.statement"]._cron_generate_statements()
        march = Run.search([("date_to", "=", "2025-03-31")])
        self.process_statement_runs()
        statement = march.statement_ids.filtered(
            lambda s: s.partner_id == self.quarterly
        )
        self.assertRecordValues(
            statement,
            [
                {
                    "date_from": march.date_from.replace(month=1),
                    "closing_balance": 300.0,
                    "state": "sent",
                }
            ],
        )

    def test_run_fields_only_the_run_writes(self):
        run = self.make_statement_run(self.alpha)
        with self.assertRaises(UserError):
            run.write({"state": "done"})
        run.action_start()
        with self.assertRaises(UserError):
            run.line_ids.write({"state": "sent"})
        with self.assertRaises(UserError):
            run.write({"date_to": "2025-05-31"})
        with self.assertRaises(UserError):
            run.statement_ids.write({"run_id": False})
        with self.assertRaises(UserError):
            self.env["sale.reconciliation.statement"].create(
                {
                    "partner_id": self.beta.id,
                    "date_from": "2025-04-01",
                    "date_to": "2025-04-30",
                    "run_id": run.id,
                }
            )
        with self.assertRaises(UserError):
            run.action_start()

    def test_salesperson_and_portal_cannot_run(self):
        run = self.make_statement_run(self.alpha)
        Run = self.env["sale.reconciliation.statement.run"]
        for user in (self.salesperson, self.portal_user):
            with self.assertRaises(AccessError):
                Run.with_user(user).create({"customer_scope": "all"})
            with self.assertRaises(AccessError):
                run.with_user(user).action_start()
            with self.assertRaises(AccessError):
                run.with_user(user).read(["state", "sent_count"])
            with self.assertRaises(UserError):  # the state: refused to all
                run.with_user(user).write({"state": "done"})
            with self.assertRaises(AccessError):
                run.with_user(user).write({"operation": "generate"})
        self.assertEqual(run.state, "draft")
        self.assertFalse(
            self.env["sale.reconciliation.statement"].search([("run_id", "=", run.id)])
        )

    def test_context_defaults_set_no_workflow_field(self):
        """default_state in the context of create() is refused as the same
        value given to it, for runs and statements alike."""
        Run = self.env["sale.reconciliation.statement.run"].with_user(
            self.other_manager
        )
        with self.assertRaises(UserError):
            Run.with_context(default_state="done").create({"customer_scope": "all"})
        Statement = self.env["sale.reconciliation.statement"].with_user(
            self.salesperson
        )
        with self.assertRaises(UserError):
            Statement.with_context(default_state="accepted").create(
                {
                    "partner_id": self.alpha.id,
                    "date_from": "2025-04-01",
                    "date_to": "2025-04-30",
                }
            )
        self.assertFalse(
            self.env["sale.reconciliation.statement.run"].search(
                [("state", "=", "done")]
            )
        )
        self.assertFalse(
            self.env["sale.reconciliation.statement"].search(
                [("partner_id", "=", self.alpha.id)]
            )
        )

    def test_review_required_runs_only_generate(self):
        self.env.company.statement_review_required = True
        run = self.make_statement_run(self.alpha, operation="confirm")
        with self.assertRaises(UserError):
            run.action_start()
        run.operation = "generate"
        run.action_start()
        self.process_statement_runs()
        self.assertRecordValues(run, [{"state": "done", "generated_count": 1}])
        self.assertEqual(run.statement_ids.state, "draft")
