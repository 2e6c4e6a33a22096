import io
from ast import literal_eval
from datetime import datetime, timedelta

import openpyxl
from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.sql_db import db_connect
from odoo.tests import Form, new_test_user, tagged

from odoo.addons.sale_reconciliation.models.sale_reconciliation_period import (
    CLOSING_LOCK_KEY,
)

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

    def test_close_button_shows_the_checklist_and_closes(self):
        self.receive_at("2025-01-20", 30.0)
        action = self.january.action_open_close_wizard()
        self.assertEqual(action["res_model"], "sale.reconciliation.period.close")
        # What the dialog shows: the saved wizard's checklist, every item.
        with Form(self.env[action["res_model"]].browse(action["res_id"])) as dialog:
            self.assertEqual(len(dialog.line_ids), 7)
            for index in range(len(dialog.line_ids)):
                with dialog.line_ids.edit(index) as line:
                    if line.name == "Customer payments not fully matched":
                        self.assertEqual(line.count, 1)
                        line.acknowledged = True
        dialog.record.action_close()
        self.assertEqual(self.january.state, "closed")
        self.assertIn("Warnings acknowledged", self.january.message_ids[0].body)

    def test_every_checklist_item_is_found_and_counted(self):
        def in_january(order):
            order.date_order = datetime(2025, 1, 14, 10, 0)
            return order

        in_january(self.create_order([(self.product_ordered, 1)], confirm=False))
        delivered = in_january(self.create_order([(self.product_delivered, 3)]))
        self.deliver(delivered, [2])
        mismatch = in_january(self.create_order([(self.product_ordered, 2)]))
        self.deliver(mismatch, [2])

        def priced_lower_in_january(invoice):
            invoice.write(
                {"invoice_date": "2025-01-20", "invoice_date_due": "2025-01-20"}
            )
            invoice.invoice_line_ids.price_unit = 40.0

        self.invoice(mismatch, edit=priced_lower_in_january)
        self.init_invoice(
            "out_invoice", invoice_date="2025-01-12", amounts=[50.0], taxes=[]
        )
        self.receive_at("2025-01-21", 30.0)
        self.make_statement("2025-01-01", "2025-01-31")
        # The same documents in February do not count for January.
        self.init_invoice(
            "out_invoice", invoice_date="2025-02-12", amounts=[50.0], taxes=[]
        )
        checklist = {
            item["code"]: (item["count"], item["blocking"])
            for item in self.january._get_closing_checklist()
        }
        self.assertEqual(
            checklist,
            {
                "quotations": (1, False),
                "to_invoice": (1, False),
                "draft_invoices": (1, True),
                "unmatched_payments": (1, False),
                "mismatches": (1, True),
                "statements": (1, False),
                "collections": (0, False),
            },
        )

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
        quotation = self.create_order([(self.product_ordered, 2)], confirm=False)
        quotation.date_order = datetime(2025, 1, 15, 12, 0)
        confirmed = self.create_order([(self.product_ordered, 1)])
        confirmed.date_order = datetime(2025, 1, 16, 12, 0)
        self.january.action_close(acknowledged_warnings=["quotations"])
        with self.assertRaises(UserError) as caught:
            confirmed._action_cancel()
        self.assertIn("2025-01", str(caught.exception))
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
        self.assertEqual(confirmed.state, "sale")
        self.assertEqual(confirmed.amount_untaxed, 50.0)

    def test_quotations_dated_in_a_closed_month_can_be_confirmed_and_cancelled(self):
        to_confirm, to_cancel = (
            self.create_order([(self.product_ordered, 1)], confirm=False)
            for _i in range(2)
        )
        confirmed = self.create_order([(self.product_ordered, 1)])
        orders = to_confirm + to_cancel + confirmed
        orders.write({"user_id": self.salesperson.id})
        orders.date_order = datetime(2025, 1, 15, 12, 0)
        self.january.action_close(acknowledged_warnings=["quotations"])

        # Odoo dates the order when it is confirmed: it is not a January sale.
        to_confirm.with_user(self.salesperson).action_confirm()
        self.assertEqual(to_confirm.state, "sale")
        self.assertGreater(to_confirm.date_order, datetime(2025, 2, 1))
        to_cancel.with_user(self.salesperson)._action_cancel()
        self.assertEqual(to_cancel.state, "cancel")
        # A January sale stays as closed.
        with self.assertRaises(UserError) as caught:
            confirmed.with_user(self.salesperson)._action_cancel()
        self.assertIn("2025-01", str(caught.exception))
        self.assertEqual(confirmed.state, "sale")

    def test_confirmed_order_cannot_move_into_a_closed_month(self):
        order = self.create_order([(self.product_ordered, 1)])
        order.user_id = self.salesperson
        order.date_order = datetime(2025, 2, 10, 12, 0)
        self.january.action_close()
        with self.assertRaises(UserError) as caught:
            order.with_user(self.salesperson).date_order = datetime(2025, 1, 10)
        self.assertIn("2025-01", str(caught.exception))
        self.assertEqual(order.date_order, datetime(2025, 2, 10, 12, 0))

    def test_reopen_refuses_while_the_lock_date_is_past_the_month(self):
        self.january.action_close()
        # Accounting locks sales up to March meanwhile.
        self.env.company.sale_lock_date = fields.Date.to_date("2025-03-31")
        with self.assertRaises(UserError) as caught:
            self.january.action_reopen("Late credit note")
        self.assertIn("2025-03-31", str(caught.exception))
        self.assertEqual(self.january.state, "closed")
        self.assertEqual(
            self.env.company.sale_lock_date, fields.Date.to_date("2025-03-31")
        )

    def test_reopen_puts_back_the_lock_date_from_before_the_closing(self):
        self.env.company.sale_lock_date = fields.Date.to_date("2024-12-15")
        self.january.action_close()
        self.assertRecordValues(
            self.january,
            [
                {
                    "sale_lock_date_before": fields.Date.to_date("2024-12-15"),
                    "sale_lock_date_set": self.january.date_to,
                }
            ],
        )
        self.assertEqual(self.env.company.sale_lock_date, self.january.date_to)
        self.january.action_reopen("Late credit note")
        self.assertEqual(self.january.state, "open")
        self.assertEqual(
            self.env.company.sale_lock_date, fields.Date.to_date("2024-12-15")
        )

    def test_reopen_leaves_a_lock_date_the_closing_did_not_set(self):
        # Accounting locked January before the sales closing did.
        self.env.company.sale_lock_date = self.january.date_to
        self.january.action_close()
        self.assertFalse(self.january.sale_lock_date_set)
        self.january.action_reopen("Late credit note")
        self.assertEqual(self.january.state, "open")
        self.assertEqual(self.env.company.sale_lock_date, self.january.date_to)

        # Lowered by accounting after the closing: left as accounting set it.
        self.january.action_close()
        self.env.company.sale_lock_date = fields.Date.to_date("2025-01-10")
        self.january.action_reopen("Audit")
        self.assertEqual(
            self.env.company.sale_lock_date, fields.Date.to_date("2025-01-10")
        )

    def test_only_accounting_administrators_move_the_lock_date(self):
        manager = new_test_user(
            self.env,
            login="period_manager_not_accountant",
            groups="sale_reconciliation.group_reconciliation_manager,"
            "sales_team.group_sale_salesman_all_leads,"
            "account.group_account_invoice",
        )
        with self.assertRaises(AccessError) as caught:
            self.january.with_user(manager).action_close()
        self.assertIn("lock date", str(caught.exception))
        self.assertEqual(self.january.state, "open")
        self.assertFalse(self.env.company.sale_lock_date)
        wizard = (
            self.env["sale.reconciliation.period.close"]
            .with_user(manager)
            .create({"period_id": self.january.id})
        )
        with self.assertRaises(AccessError):
            wizard.action_close()
        self.assertEqual(self.january.state, "open")

        self.january.with_user(self.other_manager).action_close()
        with self.assertRaises(AccessError):
            self.january.with_user(manager).action_reopen("Late credit note")
        self.assertEqual(self.january.state, "closed")
        self.assertEqual(self.env.company.sale_lock_date, self.january.date_to)
        self.january.with_user(self.other_manager).action_reopen("Late credit note")
        self.assertEqual(self.january.state, "open")
        self.assertFalse(self.env.company.sale_lock_date)

    def test_no_closed_period_from_context_defaults(self):
        """default_state=closed in the context of create() is refused as the
        same value given to it."""
        count = self.Period.search_count([])
        with self.assertRaises(UserError):
            self.Period.with_user(self.other_manager).with_context(
                default_state="closed", default_closed_by=self.other_manager.id
            ).create(
                {"name": "2024-12", "date_from": "2024-12-01", "date_to": "2024-12-31"}
            )
        self.assertEqual(self.Period.search_count([]), count)

    def test_closing_fields_change_only_by_closing_and_reopening(self):
        manager = self.other_manager
        for values in (
            {"state": "closed"},
            {"sale_lock_date_set": "2025-01-31"},
            {"sale_lock_date_before": "2024-12-31"},
            {"closed_by": manager.id},
        ):
            with self.assertRaises(UserError):
                self.january.with_user(manager).write(values)
        self.assertRecordValues(
            self.january,
            [
                {
                    "state": "open",
                    "sale_lock_date_set": False,
                    "sale_lock_date_before": False,
                    "closed_by": False,
                }
            ],
        )
        count = self.Period.search_count([])
        with self.assertRaises(UserError):
            self.Period.with_user(manager).create(
                {
                    "name": "2024-12",
                    "date_from": "2024-12-01",
                    "date_to": "2024-12-31",
                    "state": "closed",
                }
            )
        self.assertEqual(self.Period.search_count([]), count)
        self.january.action_close()
        with self.assertRaises(UserError):
            self.january.with_user(manager).write({"sale_lock_date_set": False})
        self.january.with_user(manager).name = "January 2025"
        self.assertEqual(self.january.sale_lock_date_set, self.january.date_to)

    def test_no_month_is_locked_without_its_period(self):
        self.february.unlink()
        self.january.action_close()
        with self.assertRaises(UserError) as caught:
            self.march.action_close()
        self.assertIn("2025-02", str(caught.exception))
        self.assertEqual(self.march.state, "open")
        self.assertEqual(self.env.company.sale_lock_date, self.january.date_to)

        self.Period.create(
            {"name": "2025-02", "date_from": "2025-02-01", "date_to": "2025-02-28"}
        ).action_close()
        self.march.action_close()
        self.assertEqual(self.march.state, "closed")

    def test_statements_of_a_closed_period_are_protected(self):
        self.invoice_at("2025-01-10", 100.0)
        statement = self.make_statement("2025-01-01", "2025-01-31")
        self.january.action_close(acknowledged_warnings=["statements"])
        with self.assertRaises(UserError):
            self.make_statement("2024-12-01", "2025-01-31")
        # Closing froze the draft's dates and lines: they are not read again,
        # but the statement still goes on to the customer as it stands.
        with self.assertRaises(UserError):
            statement.action_refresh()
        with self.assertRaises(UserError):
            statement.write({"date_to": "2025-01-30"})
        statement.action_confirm()
        self.assertRecordValues(
            statement,
            [{"state": "confirmed", "closing_balance": 100.0, "entry_count": 1}],
        )
        checklist = {
            item["code"]: item for item in self.february._get_closing_checklist()
        }
        self.assertEqual(checklist["statements"]["count"], 0)


@tagged("post_install", "-at_install")
class TestPeriodClosingSummary(StatementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Period = cls.env["sale.reconciliation.period"]
        cls.january, cls.february = Period._create_months(2025).sorted("date_from")[:2]
        cls.category = cls.env["product.category"].create({"name": "Furniture"})
        cls.product_ordered.categ_id = cls.category
        cls.env.company.closing_unmatched_payments_blocking = False

    def sell(self, date, quantity, user, price=None, refund=False):
        invoice = self.init_invoice(
            "out_refund" if refund else "out_invoice",
            invoice_date=date,
            products=[self.product_ordered],
            taxes=[self.tax_sale_a],
        )
        invoice.invoice_user_id = user
        invoice.invoice_line_ids.quantity = quantity
        if price is not None:
            invoice.invoice_line_ids.price_unit = price
        invoice.invoice_date_due = invoice.invoice_date
        invoice.action_post()
        return invoice

    def test_summary_equals_independent_sums(self):
        inv_1 = self.sell("2025-02-03", 4, self.salesperson)  # 4 x 50
        inv_2 = self.sell("2025-02-10", 2, self.other_manager, price=80.0)
        refund = self.sell("2025-02-12", 1, self.salesperson, refund=True)
        self.pay_at(inv_1, "2025-02-15")
        self.receive_at("2025-02-20", 25.0)
        self.sell("2025-03-02", 9, self.salesperson)  # another period
        self.january.action_close()
        self.february.action_close(acknowledged_warnings=["unmatched_payments"])

        moves = inv_1 + inv_2 + refund
        self.assertRecordValues(
            self.february,
            [
                {
                    "summary_revenue": sum(moves.mapped("amount_untaxed_signed")),
                    "summary_taxes": sum(moves.mapped("amount_tax_signed")),
                    "summary_invoiced": sum(moves.mapped("amount_total_signed")),
                    "summary_collections": inv_1.amount_total + 25.0,
                    "summary_invoice_count": 2,
                    "summary_refund_count": 1,
                    "summary_payment_count": 2,
                    "summary_unmatched_payment_count": 1,
                }
            ],
        )
        self.assertEqual(self.february.summary_revenue, 200.0 + 160.0 - 50.0)
        # Receivables at the end of February: what the ledger says, and the
        # overdue part (due dates are the invoice dates).
        receivable_lines = self.env["account.move.line"].search(
            [
                ("company_id", "=", self.env.company.id),
                ("account_id.account_type", "=", "asset_receivable"),
                ("parent_state", "=", "posted"),
                ("date", "<=", "2025-02-28"),
            ]
        )
        self.assertAlmostEqual(
            self.february.summary_receivable, sum(receivable_lines.mapped("balance"))
        )
        # Overdue: the second invoice, unpaid; the credit note and the
        # payment on account are credits, not overdue.
        self.assertAlmostEqual(self.february.summary_overdue, inv_2.amount_total)
        by_user = {
            line.user_id: line
            for line in self.february.summary_line_ids
            if line.kind == "salesperson"
        }
        self.assertEqual(by_user[self.salesperson].revenue, 150.0)
        self.assertEqual(by_user[self.salesperson].quantity, 3.0)
        self.assertEqual(by_user[self.other_manager].revenue, 160.0)
        by_category = {
            line.categ_id: line
            for line in self.february.summary_line_ids
            if line.kind == "category"
        }
        self.assertEqual(by_category[self.category].revenue, 310.0)
        self.assertEqual(by_category[self.category].quantity, 5.0)
        checks = {check.code: check for check in self.february.check_ids}
        self.assertEqual(checks["unmatched_payments"].count, 1)
        self.assertEqual(checks["unmatched_payments"].acknowledged_by, self.env.user)

    def test_comparison_reports_and_history(self):
        self.sell("2025-01-05", 2, self.salesperson)
        self.sell("2025-02-05", 3, self.salesperson)
        self.january.action_close()
        self.february.action_close()
        comparison = {row[0]: row for row in self.february._get_summary_comparison()}
        revenue = comparison["Revenue"]
        self.assertEqual(revenue[1:5], (150.0, 100.0, 50.0, 50.0))

        html = (
            self.env["ir.actions.report"]
            ._render_qweb_html(
                "sale_reconciliation.report_period_closing", self.february.ids
            )[0]
            .decode()
        )
        for text in (
            "Sales Closing",
            "2025-02",
            "150.00",
            "100.00",
            "50.0",
            "By Product Category",
            "Checklist at Closing",
        ):
            self.assertIn(text, html)

        workbook = openpyxl.load_workbook(
            io.BytesIO(self.february._export_xlsx_bytes()), data_only=True
        )
        self.assertEqual(
            workbook.sheetnames,
            ["Summary", "By Salesperson", "By Product Category", "Checklist"],
        )
        rows = {row[0]: row for row in workbook["Summary"].iter_rows(values_only=True)}
        self.assertEqual(rows["Revenue"][1:5], (150, 100, 50, 50))
        category_rows = list(
            workbook["By Product Category"].iter_rows(values_only=True)
        )
        self.assertEqual(category_rows[-1][:2], ("Total", 150))

        self.february.action_reopen("Price correction")
        self.assertIn(
            "Summary of the closing being undone", self.february.message_ids[0].body
        )
        self.assertIn("150.00", self.february.message_ids[0].body)


@tagged("post_install", "-at_install")
class TestPeriodClosingConcurrency(StatementCommon):
    def test_second_concurrent_closing_fails_clearly(self):
        period = self.env["sale.reconciliation.period"].create(
            {"name": "2025-01", "date_from": "2025-01-01", "date_to": "2025-01-31"}
        )
        company = self.env.company
        self.env.flush_all()
        # Another transaction, on a connection of its own, is closing a period
        # of the same company.
        with db_connect(self.env.cr.dbname).cursor() as other_cr:
            other_cr.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [CLOSING_LOCK_KEY, company.id]
            )
            with self.assertRaises(UserError) as caught:
                period.action_close()
            self.assertIn("Another user", str(caught.exception))
            other_cr.rollback()
        self.assertEqual(period.state, "open")
        self.assertFalse(company.sale_lock_date)
        self.assertFalse(period.check_ids)
        # Once the other transaction is over, the closing goes through.
        period.action_close()
        self.assertEqual(period.state, "closed")
        self.assertEqual(company.sale_lock_date, period.date_to)


@tagged("post_install", "-at_install")
class TestPeriodTimeZone(StatementCommon):
    """Months are the company's months (its address's time zone, here UTC+8),
    whoever is editing: the editing user is in UTC-10."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.partner_id.tz = "Asia/Shanghai"
        cls.salesperson.tz = "Pacific/Honolulu"
        cls.january, cls.february = (
            cls.env["sale.reconciliation.period"]
            ._create_months(2025)
            .sorted("date_from")[:2]
        )

    def order_at(self, date_order, confirm=True):
        order = self.create_order([(self.product_ordered, 1)], confirm=confirm)
        order.write({"user_id": self.salesperson.id, "date_order": date_order})
        return order

    def test_checklist_summary_and_protection_follow_the_company_time_zone(self):
        # 1 January 02:00 in Shanghai, 31 December in UTC and Honolulu.
        new_year = datetime(2024, 12, 31, 18, 0)
        # 1 February 04:00 in Shanghai, 31 January in UTC and Honolulu.
        february = datetime(2025, 1, 31, 20, 0)
        self.order_at(new_year, confirm=False)
        self.order_at(new_year, confirm=False)
        january_orders = self.order_at(new_year) + self.order_at(new_year)
        february_order = self.order_at(february)
        self.order_at(february, confirm=False)

        checklist = {
            item["code"]: item["count"]
            for item in self.january._get_closing_checklist()
        }
        self.assertEqual(checklist["quotations"], 2)
        self.january.action_close(acknowledged_warnings=["quotations"])
        self.assertEqual(self.january.summary_order_count, 2)

        with self.assertRaises(UserError):
            january_orders[0].with_user(self.salesperson).order_line.price_unit = 1.0
        with self.assertRaises(UserError):
            january_orders[1].with_user(self.salesperson)._action_cancel()
        february_order.with_user(self.salesperson).order_line.price_unit = 60.0
        self.assertEqual(february_order.amount_untaxed, 60.0)
        february_order.with_user(self.salesperson)._action_cancel()
        self.assertEqual(february_order.state, "cancel")

    def test_month_is_over_when_it_is_over_for_the_company(self):
        manager = self.other_manager
        # 31 January 23:00 in Shanghai, already 1 February for a user in
        # Kiribati: January is not over.
        with freeze_time("2025-01-31 15:00:00"), self.assertRaises(UserError) as caught:
            self.january.with_user(manager).with_context(
                tz="Pacific/Kiritimati"
            ).action_close()
        self.assertIn("not over", str(caught.exception))
        self.assertEqual(self.january.state, "open")
        # 1 February 10:00 in Shanghai, still 31 January in Honolulu.
        with freeze_time("2025-02-01 02:00:00"):
            self.january.with_user(manager).with_context(
                tz="Pacific/Honolulu"
            ).action_close()
        self.assertEqual(self.january.state, "closed")
