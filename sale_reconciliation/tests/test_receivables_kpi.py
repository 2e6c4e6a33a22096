from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import ValidationError
from odoo.tests import new_test_user, tagged

from .common import StatementCommon


@tagged("post_install", "-at_install")
class TestReceivablesKpi(StatementCommon):
    """DSO, days to pay and collection rate over June 2025 (30 days), and the
    reconciliation KPIs of a month, against figures worked out by hand."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesperson_b = new_test_user(
            cls.env, login="kpi_salesperson_b", groups="sales_team.group_sale_salesman"
        )
        cls.customer.user_id = cls.salesperson
        cls.customer_y = cls.env["res.partner"].create(
            {
                "name": "KPI Customer Y",
                "is_company": True,
                "user_id": cls.salesperson_b.id,
            }
        )

    def kpis(self, user=None):
        report = (
            self.env["sale.reconciliation.receivable.kpi"]
            .with_user(user or self.env.user)
            .create(
                {
                    "date_from": fields.Date.to_date("2025-06-01"),
                    "date_to": fields.Date.to_date("2025-06-30"),
                }
            )
        )
        report._compute_kpis()
        return report.line_ids

    def test_dso_days_to_pay_and_collection_rate(self):
        may = self.invoice_at("2025-05-10", 300.0)  # before the window
        june = self.invoice_at("2025-06-05", 600.0)
        self.invoice_at("2025-06-10", 100.0, refund=True)
        self.pay_at(may, "2025-06-20")  # 300 paid after 41 days
        self.pay_at(june, "2025-06-25", amount=200.0)  # 200 paid after 20 days
        self.invoice_at("2025-06-15", 400.0, partner=self.customer_y)
        lines = self.kpis()

        def line(level, **where):
            found = lines.filtered(
                lambda line: line.level == level
                and all(line[key] == value for key, value in where.items())
            )
            self.assertEqual(len(found), 1, (level, where))
            return found

        # Customer X: start 300, sales 600 - 100, collected 300 + 200, end 300.
        self.assertRecordValues(
            line("customer", partner_id=self.customer),
            [
                {
                    "user_id": self.salesperson.id,
                    "receivable_start": 300.0,
                    "sales": 500.0,
                    "collected": 500.0,
                    "receivable_end": 300.0,
                    "dso": 18.0,  # 300 / 500 x 30
                    "avg_days_to_pay": 32.6,  # (300 x 41 + 200 x 20) / 500
                    "collection_rate": 62.5,  # 500 / (300 + 500)
                }
            ],
        )
        self.assertRecordValues(
            line("customer", partner_id=self.customer_y),
            [
                {
                    "sales": 400.0,
                    "receivable_end": 400.0,
                    "dso": 30.0,
                    "collection_rate": 0.0,
                }
            ],
        )
        self.assertEqual(line("salesperson", user_id=self.salesperson).dso, 18.0)
        self.assertRecordValues(
            line("company"),
            [
                {
                    "receivable_start": 300.0,
                    "sales": 900.0,
                    "collected": 500.0,
                    "receivable_end": 700.0,
                    "dso": 23.3,  # 700 / 900 x 30
                    "avg_days_to_pay": 32.6,
                    "collection_rate": 41.7,  # 500 / 1,200
                }
            ],
        )
        # A salesperson sees the figures of their own customers only.
        own = self.kpis(user=self.salesperson_b)
        self.assertEqual(own.partner_id, self.customer_y)
        self.assertEqual(set(own.mapped("level")), {"customer", "salesperson"})

    def test_window_must_be_in_order(self):
        with self.assertRaises(ValidationError):
            self.env["sale.reconciliation.receivable.kpi"].create(
                {
                    "date_from": fields.Date.to_date("2025-06-30"),
                    "date_to": fields.Date.to_date("2025-06-01"),
                }
            )

    def test_reconciliation_kpis_per_month_and_salesperson(self):
        customer_z = self.env["res.partner"].create(
            {
                "name": "KPI Customer Z",
                "is_company": True,
                "user_id": self.salesperson.id,
            }
        )
        self.customer_y.user_id = self.salesperson
        now = fields.Datetime.now()
        statements = self.env["sale.reconciliation.statement"]
        # Sent 3, 5 and 0 days ago; the first two answered now.
        for partner, days_ago in (
            (self.customer, 3),
            (self.customer_y, 5),
            (customer_z, 0),
        ):
            self.invoice_at("2025-06-03", 100.0, partner=partner)
            statement = self.make_statement("2025-06-01", "2025-06-30", partner=partner)
            statement.action_confirm()
            with freeze_time(now - timedelta(days=days_ago)):
                statement.action_mark_sent()
            statements |= statement
        accepted, disputed, _unanswered = statements
        accepted.action_accept(accepted_by="X")
        disputed.action_dispute("Wrong")

        reconciled = self.create_order([(self.product_ordered, 1)])
        self.deliver(reconciled, [1])
        self.pay(self.invoice(reconciled))
        mismatch = self.create_order([(self.product_ordered, 2)])  # 100
        self.deliver(mismatch, [2])

        def lower_price(invoice):
            invoice.invoice_line_ids.price_unit = 45.0

        self.invoice(mismatch, edit=lower_price)
        self.create_order([(self.product_ordered, 3)])  # open
        self.assertEqual(
            (reconciled | mismatch).mapped("reconciliation_state"),
            ["reconciled", "mismatch"],
        )
        self.env.flush_all()

        Report = self.env["sale.reconciliation.kpi.report"]
        june = Report.search(
            [("month", "=", "2025-06-01"), ("user_id", "=", self.salesperson.id)]
        )
        self.assertRecordValues(
            june,
            [
                {
                    "statements_generated": 3,
                    "statements_sent": 3,
                    "statements_accepted": 1,
                    "statements_disputed": 1,
                    "statements_answered": 2,
                }
            ],
        )
        self.assertAlmostEqual(june.avg_answer_days, 4.0, places=2)  # (3 + 5) / 2
        this_month = Report.search(
            [
                ("month", "=", fields.Date.today().replace(day=1)),
                ("user_id", "=", self.salesperson.id),
            ]
        )
        self.assertRecordValues(
            this_month,
            [
                {
                    "orders_confirmed": 3,
                    "orders_reconciled": 1,
                    "mismatch_count": 1,
                    "mismatch_amount": 100.0,
                }
            ],
        )
        self.assertAlmostEqual(this_month.reconciled_rate, 100 / 3, places=2)
        # The other salesperson sees none of it.
        self.assertFalse(
            Report.with_user(self.salesperson_b).search(
                [("user_id", "=", self.salesperson.id)]
            )
        )
