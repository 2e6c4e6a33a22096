from ast import literal_eval
from datetime import datetime, timedelta

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from .common import StatementCommon


@tagged("post_install", "-at_install")
class TestPeriodClosing(StatementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Period = cls.env["sale.reconciliation.period"]
        cls.periods = cls.Period._create_months(2025)
        cls.january, cls.february, cls.march = cls.periods.sorted("date_from")[:3]

    def test_months_of_a_year(self):
        self.assertEqual(len(self.periods), 12)
        self.assertEqual(self.january.name, "2025-01")
        self.assertEqual(self.february.date_to, fields.Date.to_date("2025-02-28"))
        self.assertFalse(self.Period._create_months(2025), "no month twice")

    def test_bad_periods_refused(self):
        count = self.Period.search_count([])
        with self.assertRaises(ValidationError):
            self.Period.create(
                {"name": "Q1", "date_from": "2025-01-15", "date_to": "2025-03-31"}
            )
        with self.assertRaises(ValidationError):
            self.Period.create(
                {
                    "name": "Upside down",
                    "date_from": "2026-02-01",
                    "date_to": "2026-01-01",
                }
            )
        self.assertEqual(self.Period.search_count([]), count)

    def test_close_locks_sales_and_reopen_moves_the_lock_back(self):
        self.january.action_close()
        self.assertRecordValues(
            self.january, [{"state": "closed", "closed_by": self.env.uid}]
        )
        self.assertEqual(self.env.company.sale_lock_date, self.january.date_to)
        self.assertIn("Period closed", self.january.message_ids[0].body)

        self.february.action_close()
        self.assertEqual(self.env.company.sale_lock_date, self.february.date_to)

        with self.assertRaises(UserError):
            self.january.action_reopen("Late credit note")  # not the last one
        with self.assertRaises(UserError):
            self.february.action_reopen("  ")
        self.february.action_reopen("Late credit note")
        self.assertEqual(self.february.state, "open")
        self.assertEqual(self.env.company.sale_lock_date, self.january.date_to)
        self.assertIn("Late credit note", self.february.message_ids[0].body)

        self.january.action_reopen("Audit")
        self.assertFalse(self.env.company.sale_lock_date)

    def test_close_in_order_and_only_when_over(self):
        with self.assertRaises(UserError) as caught:
            self.february.action_close()
        self.assertIn("2025-01", str(caught.exception))
        self.assertEqual(self.february.state, "open")

        today = fields.Date.context_today(self.Period)
        current = self.Period.create(
            {
                "name": "This month",
                "date_from": today.replace(day=1),
                "date_to": today.replace(day=1) + timedelta(days=40),
            }
        )
        with self.assertRaises(UserError) as caught:
            current.action_close()
        self.assertIn("not over", str(caught.exception))
        self.assertFalse(self.env.company.sale_lock_date)

    def test_only_managers_close(self):
        with self.assertRaises(AccessError):
            self.january.with_user(self.salesperson).action_close()
        self.assertEqual(self.january.state, "open")

    def test_checklist_blocking_and_warnings(self):
        draft = self.init_invoice(
            "out_invoice", invoice_date="2025-01-12", amounts=[50.0], taxes=[]
        )
        self.receive_at("2025-01-20", 30.0)
        wizard = self.env["sale.reconciliation.period.close"].create(
            {"period_id": self.january.id}
        )
        items = {line.code: line for line in wizard.line_ids}
        self.assertEqual(items["draft_invoices"].count, 1)
        self.assertTrue(items["draft_invoices"].blocking)
        self.assertEqual(items["unmatched_payments"].count, 1)
        self.assertFalse(items["unmatched_payments"].blocking)
        self.assertEqual(items["quotations"].count, 0)
        self.assertTrue(wizard.has_blocking)
        action = items["draft_invoices"].action_open_documents()
        self.assertEqual(
            self.env["account.move"].search(literal_eval(action["domain"])),
            draft,
        )
        with self.assertRaises(UserError):
            wizard.action_close()
        self.assertEqual(self.january.state, "open")

        draft.unlink()
        wizard = self.env["sale.reconciliation.period.close"].create(
            {"period_id": self.january.id}
        )
        self.assertFalse(wizard.has_blocking)
        with self.assertRaises(UserError):
            wizard.action_close()  # the warning is not acknowledged
        wizard.line_ids.filtered(
            lambda line: line.code == "unmatched_payments"
        ).acknowledged = True
        wizard.action_close()
        self.assertEqual(self.january.state, "closed")
        self.assertIn("Warnings acknowledged", self.january.message_ids[0].body)

    def test_severity_follows_the_company_setting(self):
        self.init_invoice(
            "out_invoice", invoice_date="2025-01-12", amounts=[50.0], taxes=[]
        )
        self.env.company.closing_draft_invoices_blocking = False
        self.january.action_close(acknowledged_warnings=["draft_invoices"])
        self.assertEqual(self.january.state, "closed")

    def test_checklist_counts_only_the_company(self):
        company_2 = self.setup_other_company()["company"]
        self.init_invoice(
            "out_invoice",
            invoice_date="2025-01-12",
            amounts=[50.0],
            taxes=[],
            company=company_2,
        )
        checklist = {
            item["code"]: item for item in self.january._get_closing_checklist()
        }
        self.assertEqual(checklist["draft_invoices"]["count"], 0)

    def test_odoo_refuses_changes_in_the_closed_period_but_honours_exceptions(self):
        invoice = self.invoice_at("2025-01-10", 100.0)
        self.january.action_close()
        with self.assertRaises(UserError):
            invoice.button_draft()
        self.env["account.lock_exception"].create(
            {
                "company_id": self.env.company.id,
                "user_id": self.env.user.id,
                "sale_lock_date": fields.Date.to_date("2024-12-31"),
                "end_datetime": datetime.now() + timedelta(hours=1),
                "reason": "Correction approved by the controller",
            }
        )
        invoice.button_draft()
        self.assertEqual(invoice.state, "draft")

    def test_orders_of_a_closed_period_are_protected(self):
        order = self.create_order([(self.product_ordered, 2)], confirm=False)
        order.date_order = datetime(2025, 1, 15, 12, 0)
        confirmed = self.create_order([(self.product_ordered, 1)])
        confirmed.date_order = datetime(2025, 1, 16, 12, 0)
        self.january.action_close(acknowledged_warnings=["quotations"])
        with self.assertRaises(UserError) as caught:
            order.action_confirm()
        self.assertIn("2025-01", str(caught.exception))
        with self.assertRaises(UserError):
            confirmed._action_cancel()
        with self.assertRaises(UserError):
            confirmed.write(
                {
                    "order_line": [
                        fields.Command.update(
                            confirmed.order_line.id, {"product_uom_qty": 5}
                        )
                    ]
                }
            )
        with self.assertRaises(UserError):
            confirmed.order_line.price_unit = 1.0
        self.assertEqual(order.state, "draft")
        self.assertEqual(confirmed.state, "sale")

    def test_statements_of_a_closed_period_are_protected(self):
        self.invoice_at("2025-01-10", 100.0)
        statement = self.make_statement("2025-01-01", "2025-01-31")
        self.january.action_close(acknowledged_warnings=["statements"])
        with self.assertRaises(UserError):
            self.make_statement("2024-12-01", "2025-01-31")
        with self.assertRaises(UserError):
            statement.action_confirm()
        self.assertEqual(statement.state, "draft")
        checklist = {
            item["code"]: item for item in self.february._get_closing_checklist()
        }
        self.assertEqual(checklist["statements"]["count"], 0)
