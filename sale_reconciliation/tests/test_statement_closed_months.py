from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import StatementCommon


@tagged("post_install", "-at_install")
class TestStatementClosedMonths(StatementCommon):
    """Months are closed one by one; a quarterly customer's statement of the
    quarter still comes at the quarter's end, while the statements closing
    froze stay as they were."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.quarterly = Partner.create(
            {
                "name": "Quarterly Ltd",
                "is_company": True,
                "email": "q@quarterly.example.com",
                "statement_frequency": "quarterly",
            }
        )
        cls.monthly = Partner.create(
            {
                "name": "Monthly Ltd",
                "is_company": True,
                "email": "m@monthly.example.com",
                "statement_frequency": "monthly",
            }
        )
        cls.invoice_at("2025-07-10", 300.0, partner=cls.quarterly)
        cls.invoice_at("2025-08-12", 200.0, partner=cls.quarterly)
        cls.invoice_at("2025-09-05", 50.0, partner=cls.quarterly)
        cls.invoice_at("2025-08-20", 80.0, partner=cls.monthly)
        cls.invoice_at("2025-09-15", 40.0, partner=cls.monthly)
        # A reconciliation manager who may also move the sales lock date.
        cls.manager = cls.other_manager
        cls.july, cls.august, cls.september = cls.env[
            "sale.reconciliation.period"
        ].create(
            [
                {"name": name, "date_from": f"{name}-01", "date_to": date_to}
                for name, date_to in (
                    ("2025-07", "2025-07-31"),
                    ("2025-08", "2025-08-31"),
                    ("2025-09", "2025-09-30"),
                )
            ]
        )

    def setUp(self):
        super().setUp()
        # The quarter's statements are made early in October.
        self.startPatcher(freeze_time("2025-10-02 09:00"))
        self.Statement = self.env["sale.reconciliation.statement"].with_user(
            self.manager
        )
        # The monthly customer's August statement, made before August closed.
        self.august_statement = self.Statement.create(
            {
                "partner_id": self.monthly.id,
                "date_from": "2025-08-01",
                "date_to": "2025-08-31",
            }
        )

    def close(self, *periods):
        for period in periods:
            period.with_user(self.manager).action_close(
                acknowledged_warnings=[
                    item["code"] for item in period._get_closing_checklist()
                ]
            )
            self.assertEqual(period.state, "closed")

    def test_september_run_gives_the_quarter_with_july_and_august_closed(self):
        self.close(self.july, self.august)
        run = (
            self.env["sale.reconciliation.statement.run"]
            .with_user(self.manager)
            .create(
                {
                    "date_from": "2025-09-01",
                    "date_to": "2025-09-30",
                    "customer_scope": "selected",
                    "partner_ids": [(6, 0, (self.quarterly | self.monthly).ids)],
                    "operation": "send",
                    "use_statement_frequency": True,
                }
            )
        )
        run.action_start()
        self.process_statement_runs()
        self.assertRecordValues(
            run, [{"state": "done", "sent_count": 2, "failed_count": 0}]
        )
        lines = {line.partner_id: line for line in run.line_ids}
        self.assertEqual(lines[self.quarterly].state, "sent")
        self.assertEqual(lines[self.monthly].state, "sent")
        self.assertRecordValues(
            run.statement_ids.sorted(lambda s: s.partner_id != self.quarterly),
            [
                {
                    "partner_id": self.quarterly.id,
                    "date_from": fields.Date.to_date("2025-07-01"),
                    "date_to": fields.Date.to_date("2025-09-30"),
                    "opening_balance": 0.0,
                    "closing_balance": 550.0,
                    "entry_count": 3,
                    "state": "sent",
                },
                {
                    # The monthly customer gets September only, as always.
                    "partner_id": self.monthly.id,
                    "date_from": fields.Date.to_date("2025-09-01"),
                    "date_to": fields.Date.to_date("2025-09-30"),
                    "opening_balance": 80.0,
                    "closing_balance": 120.0,
                    "entry_count": 1,
                    "state": "sent",
                },
            ],
        )
        # The statement August had when it closed is left as it was.
        self.assertRecordValues(
            self.august_statement,
            [{"state": "draft", "run_id": False, "closing_balance": 80.0}],
        )

    def test_quarter_statement_made_by_hand_with_july_and_august_closed(self):
        self.close(self.july, self.august)
        statement = self.Statement.create(
            {
                "partner_id": self.quarterly.id,
                "date_from": "2025-07-01",
                "date_to": "2025-09-30",
            }
        )
        self.assertRecordValues(
            statement, [{"state": "draft", "closing_balance": 550.0}]
        )
        # September is open: the draft is still read again from the ledger.
        self.invoice_at("2025-09-25", 25.0, partner=self.quarterly)
        statement.action_confirm()
        self.assertRecordValues(
            statement,
            [{"state": "confirmed", "closing_balance": 575.0, "entry_count": 4}],
        )
        # Closing September freezes it, as any statement of a closed month.
        checklist = {
            item["code"]: item["count"]
            for item in self.september._get_closing_checklist()
        }
        self.assertEqual(checklist["statements"], 1)
        self.close(self.september)
        with self.assertRaises(UserError):
            statement.write({"date_from": "2025-08-01"})
        with self.assertRaises(UserError):
            statement.action_draft()
        self.assertRecordValues(
            statement,
            [
                {
                    "state": "confirmed",
                    "date_from": fields.Date.to_date("2025-07-01"),
                    "closing_balance": 575.0,
                }
            ],
        )

    def test_closed_months_still_refuse_statements_of_their_own(self):
        self.close(self.july, self.august)
        # A statement ending in a closed month is refused, whoever asks and
        # wherever it starts.
        for date_from, date_to in (
            ("2025-08-01", "2025-08-31"),
            ("2025-07-01", "2025-08-31"),
            ("2025-07-01", "2025-07-31"),
        ):
            with self.assertRaises(UserError) as refused:
                self.Statement.create(
                    {
                        "partner_id": self.quarterly.id,
                        "date_from": date_from,
                        "date_to": date_to,
                    }
                )
            self.assertIn("closed sales period", str(refused.exception))
        # The August statement stays frozen: not re-dated, not read again.
        with self.assertRaises(UserError):
            self.august_statement.write({"date_to": "2025-09-30"})
        with self.assertRaises(UserError):
            self.august_statement.action_refresh()
        # Nor is August told twice by a statement reaching into September.
        with self.assertRaises(UserError) as refused:
            self.Statement.create(
                {
                    "partner_id": self.monthly.id,
                    "date_from": "2025-08-01",
                    "date_to": "2025-09-30",
                }
            )
        self.assertIn(self.august_statement.name, str(refused.exception))
        # A run of the closed month is refused as before.
        august_run = (
            self.env["sale.reconciliation.statement.run"]
            .with_user(self.manager)
            .create(
                {
                    "date_from": "2025-08-01",
                    "date_to": "2025-08-31",
                    "customer_scope": "selected",
                    "partner_ids": [(6, 0, self.monthly.ids)],
                    "operation": "generate",
                }
            )
        )
        with self.assertRaises(UserError) as refused:
            august_run.action_start()
        self.assertIn("2025-08", str(refused.exception))
        self.assertRecordValues(
            self.august_statement,
            [
                {
                    "state": "draft",
                    "date_to": fields.Date.to_date("2025-08-31"),
                    "closing_balance": 80.0,
                }
            ],
        )
