"""The nightly full refresh of the credit profiles on the run engine: a run
per company, a chunk of customers per transaction, a customer or a company
that fails stops nobody else, and a run killed midway resumes without
computing anyone twice."""

from datetime import timedelta
from unittest.mock import patch

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.sale_reconciliation.models.sale_reconciliation_credit_profile import (  # noqa: E501
    SaleReconciliationCreditProfile,
)
from odoo.addons.sale_reconciliation.models.sale_reconciliation_credit_refresh_run import (  # noqa: E501
    CHUNK_SIZE_PARAM,
    SaleReconciliationCreditRefreshRun,
)

from .common import StatementCommon, broken_chunks

RUN_LOGGER = (
    "odoo.addons.sale_reconciliation.models.sale_reconciliation_credit_refresh_run"
)


class SimulatedKill(Exception):
    """The worker killed in the middle of a chunk."""


class CreditRefreshRunCommon(StatementCommon):
    """Four customers of the main company (one overdue, one partly overdue,
    two small ones) and one of a second company, refreshed two customers a
    chunk."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.today = fields.Date.today()
        cls.customers = cls.env["res.partner"].create(
            [
                {"name": f"Refreshed Customer {index}", "is_company": True}
                for index in range(4)
            ]
        )
        cls.overdue, cls.partly, cls.small_1, cls.small_2 = cls.customers
        cls.invoice_at(
            cls.today - timedelta(days=40),
            300.0,
            partner=cls.overdue,
            due=cls.today - timedelta(days=10),
        )
        cls.invoice_at(
            cls.today, 200.0, partner=cls.partly, due=cls.today + timedelta(days=30)
        )
        cls.invoice_at(
            cls.today - timedelta(days=20),
            100.0,
            partner=cls.partly,
            due=cls.today - timedelta(days=5),
        )
        cls.invoice_at(cls.today, 50.0, partner=cls.small_1)
        cls.invoice_at(cls.today, 60.0, partner=cls.small_2)

        cls.company_2 = cls.setup_other_company()["company"]
        cls.customer_2 = cls.env["res.partner"].create(
            {"name": "Second Company's Customer", "is_company": True}
        )
        cls.env["account.move"].with_company(cls.company_2).create(
            {
                "move_type": "out_invoice",
                "partner_id": cls.customer_2.id,
                "company_id": cls.company_2.id,
                "invoice_date": cls.today,
                "invoice_line_ids": [
                    Command.create(
                        {"name": "Service", "price_unit": 900.0, "tax_ids": []}
                    )
                ],
            }
        ).action_post()

        # The main company's run is processed first.
        cls.company.sequence = 0
        cls.company_2.sequence = 1000
        cls.env["ir.config_parameter"].set_param(CHUNK_SIZE_PARAM, "2")
        cls.credit_manager = new_test_user(
            cls.env,
            login="credit_refresh_manager",
            groups="sales_team.group_sale_salesman_all_leads,"
            "sale_reconciliation.group_credit_manager",
            company_id=cls.company.id,
        )
        cls.Profile = cls.env["sale.reconciliation.credit.profile"]
        cls.Run = cls.env["sale.reconciliation.credit.refresh.run"]

    def refresh(self, max_calls=30):
        """Call the scheduled action as Odoo does while work remains."""
        for _call in range(max_calls):
            self.Profile._cron_refresh()
            if not self.Run.search_count([("state", "=", "running")]):
                return
        self.fail(f"credit refresh runs still running after {max_calls} chunks")

    def run_of(self, company):
        return self.Run.search([("company_id", "=", company.id)])

    def profile(self, partner, company=None):
        return self.Profile.search(
            [
                ("partner_id", "=", partner.id),
                ("company_id", "=", (company or self.company).id),
            ]
        )

    def assertFiguresRight(self):
        self.assertRecordValues(
            self.profile(self.overdue) | self.profile(self.partly),
            [
                {
                    "credit_exposure": 300.0,
                    "credit_overdue_amount": 300.0,
                    "credit_overdue_oldest_days": 10,
                },
                {
                    "credit_exposure": 300.0,
                    "credit_overdue_amount": 100.0,
                    "credit_overdue_oldest_days": 5,
                },
            ],
        )


@tagged("post_install", "-at_install")
class TestCreditRefreshRun(CreditRefreshRunCommon):
    def test_full_refresh_is_a_run_per_company_in_chunks(self):
        self.Profile._cron_refresh()
        run, run_2 = self.run_of(self.company), self.run_of(self.company_2)
        self.assertEqual(run.line_ids.partner_id, self.customers)
        self.assertEqual(run_2.line_ids.partner_id, self.customer_2)
        self.assertEqual(
            run.done_count + run_2.done_count,
            2,
            "the first call computes one chunk of two customers",
        )
        self.assertEqual((run | run_2).mapped("state"), ["running", "running"])

        self.refresh()

        self.assertRecordValues(
            run | run_2,
            [
                {
                    "state": "done",
                    "date": self.today,
                    "done_count": 4,
                    "failed_count": 0,
                    "todo_count": 0,
                    "progress": 100.0,
                    "processed_by_id": self.env.ref("base.user_root").id,
                },
                {
                    "state": "done",
                    "date": self.today,
                    "done_count": 1,
                    "failed_count": 0,
                    "todo_count": 0,
                    "progress": 100.0,
                    "processed_by_id": self.env.ref("base.user_root").id,
                },
            ],
        )
        self.assertFiguresRight()
        self.assertRecordValues(
            self.profile(self.small_1) | self.profile(self.customer_2, self.company_2),
            [{"credit_exposure": 50.0}, {"credit_exposure": 900.0}],
        )
        # Called again the same day (a trigger, a manual run): nothing is
        # started nor computed again.
        self.Profile._cron_refresh()
        self.assertEqual(self.Run.search_count([]), 2)

    def test_a_customer_whose_figures_raise_fails_alone(self):
        get_figures = SaleReconciliationCreditProfile._get_credit_figures
        broken_id = self.small_1.id

        def figures_or_raise(profile, company, partner_ids=None, include_all=True):
            if partner_ids is not None and broken_id in partner_ids:
                raise ValueError("No rate for this customer's currency")
            return get_figures(profile, company, partner_ids, include_all)

        with (
            patch.object(
                SaleReconciliationCreditProfile,
                "_get_credit_figures",
                figures_or_raise,
            ),
            mute_logger(RUN_LOGGER),
        ):
            self.refresh()

        run = self.run_of(self.company)
        self.assertRecordValues(
            run, [{"state": "failed", "done_count": 3, "failed_count": 1}]
        )
        failed = run.line_ids.filtered(lambda line: line.state == "failed")
        self.assertRecordValues(
            failed,
            [
                {
                    "partner_id": self.small_1.id,
                    "reason": "No rate for this customer's currency",
                }
            ],
        )
        self.assertFalse(self.profile(self.small_1))
        self.assertFiguresRight()
        self.assertEqual(self.profile(self.small_2).credit_exposure, 60.0)
        self.assertRecordValues(self.run_of(self.company_2), [{"state": "done"}])

    def test_a_company_whose_run_breaks_does_not_stop_the_others(self):
        broken_company = self.company
        with broken_chunks(
            SaleReconciliationCreditRefreshRun,
            lambda run: run.company_id == broken_company,
        ):
            self.refresh()

        self.assertRecordValues(
            self.run_of(self.company) | self.run_of(self.company_2),
            [
                {
                    "state": "failed",
                    "error": "division by zero in a chunk",
                    "done_count": 0,
                },
                {"state": "done", "done_count": 1, "error": False},
            ],
        )
        self.assertFalse(self.profile(self.overdue), "the chunk was undone")
        self.assertEqual(
            self.profile(self.customer_2, self.company_2).credit_exposure, 900.0
        )

    def test_resume_after_a_kill_computes_nobody_twice(self):
        self.Profile._cron_refresh()
        runs = self.Run.search([])
        done_first = runs.line_ids.filtered(lambda line: line.state == "done")
        self.assertEqual(len(done_first), 2)
        refreshed_on = {
            line.partner_id: self.profile(line.partner_id, line.company_id).refresh_date
            for line in done_first
        }

        # The worker dies in the middle of the next chunk: its transaction
        # is rolled back, the lines it took stay to do.
        with self.assertRaises(SimulatedKill), self.env.cr.savepoint():
            self.Profile._cron_refresh()
            self.assertEqual(
                len(runs.line_ids.filtered(lambda line: line.state == "done")), 4
            )
            raise SimulatedKill()
        self.env.invalidate_all()
        self.assertEqual(
            runs.line_ids.filtered(lambda line: line.state == "done"), done_first
        )

        computed = []
        refresh = SaleReconciliationCreditProfile._refresh

        def spy(profile, company, partner_ids=None):
            computed.extend(partner_ids or [])
            return refresh(profile, company, partner_ids)

        with patch.object(SaleReconciliationCreditProfile, "_refresh", spy):
            self.refresh()

        self.assertEqual(
            sorted(computed),
            sorted((runs.line_ids - done_first).partner_id.ids),
            "the customers done before the kill are not computed again",
        )
        self.assertEqual(set(runs.mapped("state")), {"done"})
        for partner, date in refreshed_on.items():
            company = runs.line_ids.filtered(
                lambda line, partner=partner: line.partner_id == partner
            ).company_id
            self.assertEqual(self.profile(partner, company).refresh_date, date)
        self.assertFiguresRight()

    def test_credit_managers_cancel_salespeople_may_not(self):
        self.Profile._cron_refresh()
        run = self.run_of(self.company)
        self.assertEqual(run.state, "running")
        with self.assertRaises(AccessError):
            run.with_user(self.salesperson).action_cancel()
        with self.assertRaises(AccessError):
            run.with_user(self.salesperson).read(["state"])

        done = run.done_count
        run.with_user(self.credit_manager).action_cancel()
        self.assertEqual(run.state, "cancel")
        self.refresh()
        self.assertRecordValues(
            run, [{"state": "cancel", "done_count": done, "todo_count": 4 - done}]
        )
        with self.assertRaises(UserError):
            run.with_user(self.credit_manager).action_cancel()
        # The run's state is the engine's: nobody writes it by hand.
        # (AccessError is a UserError: either refusal will do.)
        with self.assertRaises(UserError):
            run.with_user(self.credit_manager).write({"state": "done"})
        with self.assertRaises(UserError):
            run.write({"state": "done"})
