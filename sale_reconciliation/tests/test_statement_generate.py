from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.tests import tagged

from .common import StatementCommon


@tagged("post_install", "-at_install")
class TestStatementGeneration(StatementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.active = cls.customer
        cls.quiet = Partner.create({"name": "Quiet Customer", "is_company": True})
        cls.settled = Partner.create({"name": "Settled Customer", "is_company": True})
        cls.newcomer = Partner.create({"name": "Newcomer Ltd", "is_company": True})
        cls.active.user_id = cls.salesperson
        # Active in April; Quiet owes from March; Settled paid everything in
        # March; Newcomer never bought anything.
        cls.invoice_at("2025-04-03", 100.0, partner=cls.active)
        cls.invoice_at("2025-03-03", 200.0, partner=cls.quiet)

    def setUp(self):
        super().setUp()
        settled_invoice = self.invoice_at("2025-03-04", 300.0, partner=self.settled)
        self.pay_at(settled_invoice, "2025-03-10")

    def process_runs(self):
        """The statement runs' scheduled action, called while work remains."""
        Run = self.env["sale.reconciliation.statement.run"]
        for _call in range(20):
            if not Run.search_count([("state", "=", "running")]):
                return
            Run._cron_process_runs()
        self.fail("statement runs still running")

    def run_wizard(self, **values):
        wizard = self.env["sale.reconciliation.statement.generate"].create(
            {"date_from": "2025-04-01", "date_to": "2025-04-30", **values}
        )
        wizard.action_generate()
        return wizard

    def test_all_customers_with_activity_or_open_balance(self):
        wizard = self.run_wizard()
        self.assertEqual(wizard.state, "done")
        self.assertEqual(wizard.statement_ids.partner_id, self.active | self.quiet)
        self.assertRecordValues(
            wizard.statement_ids.sorted(lambda s: s.partner_id.name),
            [
                {
                    "partner_id": self.quiet.id,
                    "opening_balance": 200.0,
                    "closing_balance": 200.0,
                },
                {
                    "partner_id": self.active.id,
                    "opening_balance": 0.0,
                    "closing_balance": 100.0,
                },
            ],
        )
        self.assertIn("Settled Customer", wizard.skipped_report)
        self.assertIn("no entries in the period, nothing open", wizard.skipped_report)
        self.assertNotIn("Newcomer", wizard.skipped_report)

    def test_selected_customers_and_report_of_skipped(self):
        existing = self.make_statement("2025-04-01", "2025-04-30", partner=self.quiet)
        wizard = (
            self.env["sale.reconciliation.statement.generate"]
            .with_context(
                active_model="res.partner",
                active_ids=(
                    self.active | self.quiet | self.newcomer | self.settled
                ).ids,
            )
            .create({"date_from": "2025-04-01", "date_to": "2025-04-30"})
        )
        self.assertEqual(wizard.customer_scope, "selected")
        wizard.action_generate()
        self.assertEqual(wizard.statement_ids.partner_id, self.active)
        report = wizard.skipped_report
        self.assertIn(
            f"Quiet Customer ({existing.currency_id.name}): "
            f"already has statement {existing.name}",
            report,
        )
        self.assertIn("Newcomer Ltd", report)
        self.assertIn("no receivable entries at all", report)
        self.assertIn("Settled Customer", report)
        action = wizard.action_open_statements()
        self.assertEqual(
            self.env["sale.reconciliation.statement"].search(action["domain"]),
            wizard.statement_ids,
        )

    def test_customers_of_salespeople_and_tags(self):
        wizard = self.run_wizard(
            customer_scope="salespeople",
            user_ids=[fields.Command.set(self.salesperson.ids)],
        )
        self.assertEqual(wizard.statement_ids.partner_id, self.active)

        tag = self.env["res.partner.category"].create({"name": "Key account"})
        self.quiet.category_id = tag
        wizard = self.run_wizard(
            customer_scope="tags", category_ids=[fields.Command.set(tag.ids)]
        )
        self.assertEqual(wizard.statement_ids.partner_id, self.quiet)

    def test_salesperson_generates_only_for_own_customers(self):
        wizard = (
            self.env["sale.reconciliation.statement.generate"]
            .with_user(self.salesperson)
            .create({"date_from": "2025-04-01", "date_to": "2025-04-30"})
        )
        wizard.action_generate()
        self.assertEqual(wizard.statement_ids.partner_id, self.active)

    def test_one_statement_per_currency_unless_company_currency_only(self):
        eur = self.setup_other_currency("EUR")
        self.invoice_at("2025-04-07", 80.0, partner=self.active, currency=eur)
        wizard = self.run_wizard(customer_scope="selected", partner_ids=self.active.ids)
        self.assertEqual(
            sorted(wizard.statement_ids.mapped("currency_id.name")),
            sorted([self.env.company.currency_id.name, "EUR"]),
        )
        wizard.statement_ids.action_cancel()
        wizard = self.run_wizard(
            customer_scope="selected",
            partner_ids=self.active.ids,
            company_currency_only=True,
        )
        self.assertEqual(wizard.statement_ids.currency_id, self.env.company.currency_id)
        self.assertIn("currency not asked for", wizard.skipped_report)

    def test_scheduled_generation_and_sending(self):
        company = self.env.company
        company.write(
            {
                "statement_auto_generate": True,
                "statement_generation_day": 2,
                "statement_auto_send": True,
                "statement_default_type": "detailed",
            }
        )
        (self.active | self.quiet).write({"email": "accounts@example.com"})
        Statement = self.env["sale.reconciliation.statement"]
        with freeze_time("2025-05-01"):
            Statement._cron_generate_statements()
            self.process_runs()
        self.assertFalse(Statement.search([("date_from", "=", "2025-04-01")]))
        with freeze_time("2025-05-02"):
            Statement._cron_generate_statements()
            self.process_runs()
        statements = Statement.search([("date_from", "=", "2025-04-01")])
        self.assertEqual(statements.partner_id, self.active | self.quiet)
        self.assertEqual(set(statements.mapped("state")), {"sent"})
        self.assertEqual(set(statements.mapped("statement_type")), {"detailed"})
        self.assertEqual(
            set(statements.mapped("date_to")), {fields.Date.to_date("2025-04-30")}
        )

    def test_scheduled_generation_leaves_drafts_when_review_required(self):
        self.env.company.write(
            {
                "statement_auto_generate": True,
                "statement_generation_day": 2,
                "statement_auto_send": True,
                "statement_review_required": True,
            }
        )
        Statement = self.env["sale.reconciliation.statement"]
        with freeze_time("2025-05-02"):
            Statement._cron_generate_statements()
            self.process_runs()
        statements = Statement.search([("date_from", "=", "2025-04-01")])
        self.assertEqual(len(statements), 2)
        self.assertEqual(set(statements.mapped("state")), {"draft"})

    def test_unanswered_statements_are_chased_once(self):
        self.env.company.statement_reminder_days = 10
        statement = self.make_statement("2025-04-01", "2025-04-30")
        statement.action_confirm()
        Statement = self.env["sale.reconciliation.statement"]
        activity_type = self.env.ref(
            "sale_reconciliation.mail_activity_type_statement_followup"
        )

        with freeze_time(datetime.now() - timedelta(days=11)):
            statement.action_mark_sent()
            Statement._cron_remind_unanswered()
        self.assertFalse(statement.activity_ids, "sent that day: not late yet")

        Statement._cron_remind_unanswered()
        Statement._cron_remind_unanswered()
        self.assertRecordValues(
            statement.activity_ids,
            [{"activity_type_id": activity_type.id, "user_id": self.salesperson.id}],
        )
