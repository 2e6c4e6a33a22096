"""The run engine as users meet it through statement and follow-up runs: a
run that goes wrong stops alone, a manager cancels a running run, and a run
line says what really happened to its statement."""

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from odoo.addons.sale_reconciliation.models.sale_reconciliation_statement_run import (
    CHUNK_SIZE_PARAM,
    SaleReconciliationStatementRun,
)

from .common import StatementCommon, broken_chunks


@tagged("post_install", "-at_install")
class TestRunEngine(StatementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customers = cls.create_invoiced_customers(
            "Engine Customer", 3, "engine.example.com"
        )
        cls.starter = new_test_user(
            cls.env,
            login="run_engine_starter",
            groups="account.group_account_manager,sales_team.group_sale_manager",
            company_id=cls.env.company.id,
        )
        cls.bot = cls.env.ref("base.user_root")

    def line_of(self, run, partner):
        return run.line_ids.filtered(lambda line: line.partner_id == partner)

    # -------------------------------------------------------------------------
    # Fault isolation
    # -------------------------------------------------------------------------

    @freeze_time("2025-05-05")
    def test_run_of_a_starter_who_lost_the_right_goes_on_as_odoobot(self):
        """The starter of a running run is no longer a reconciliation
        manager: the run is processed all the same, as OdooBot, and says so;
        the run started after it by another manager completes too."""
        first = self.make_statement_run(self.customers[:2], user=self.starter)
        first.with_user(self.starter).action_start()
        second = self.make_statement_run(self.customers[2], operation="confirm")
        second.action_start()
        self.starter.groups_id = [
            Command.set(
                [
                    self.env.ref("base.group_user").id,
                    self.env.ref("sales_team.group_sale_salesman").id,
                ]
            )
        ]
        with self.assertRaises(AccessError):
            first.with_user(self.starter).action_cancel()

        self.process_statement_runs()

        self.assertRecordValues(
            first | second,
            [
                {
                    "state": "done",
                    "confirmed_count": 2,
                    "started_by_id": self.starter.id,
                    "processed_by_id": self.bot.id,
                    "error": False,
                },
                {
                    "state": "done",
                    "confirmed_count": 1,
                    "started_by_id": self.env.user.id,
                    "processed_by_id": self.env.user.id,
                    "error": False,
                },
            ],
        )
        self.assertTrue(
            any(
                "may no longer run this" in message.body
                and self.starter.name in message.body
                for message in first.message_ids
            ),
            "the run's history says whose rights it works with, and why",
        )
        self.assertEqual(set(first.statement_ids.mapped("state")), {"sent"})

    @freeze_time("2025-05-05")
    def test_run_of_a_starter_without_the_company_goes_on(self):
        other_company = self.env["res.company"].create({"name": "Elsewhere Ltd"})
        run = self.make_statement_run(
            self.customers[0], operation="confirm", user=self.starter
        )
        run.with_user(self.starter).action_start()
        self.starter.write(
            {
                "company_id": other_company.id,
                "company_ids": [Command.set(other_company.ids)],
            }
        )
        self.process_statement_runs()
        self.assertRecordValues(
            run,
            [{"state": "done", "confirmed_count": 1, "processed_by_id": self.bot.id}],
        )

    @freeze_time("2025-05-05")
    def test_a_run_that_breaks_fails_alone(self):
        """Any error of a whole chunk (here a programming error) fails that
        run with the error, undoes the chunk, and the other run goes on."""
        broken = self.make_statement_run(self.customers[:2], operation="generate")
        broken.action_start()
        sound = self.make_statement_run(self.customers[2], operation="confirm")
        sound.action_start()
        with broken_chunks(SaleReconciliationStatementRun, lambda run: run == broken):
            self.process_statement_runs()

        self.assertRecordValues(
            broken | sound,
            [
                {
                    "state": "failed",
                    "error": "division by zero in a chunk",
                    "confirmed_count": 0,
                },
                {"state": "done", "confirmed_count": 1, "error": False},
            ],
        )
        self.assertFalse(broken.statement_ids, "the chunk was undone")
        self.assertTrue(broken.finished_date)

    # -------------------------------------------------------------------------
    # Cancel
    # -------------------------------------------------------------------------

    @freeze_time("2025-05-05")
    def test_cancel_a_running_run_after_its_first_chunk(self):
        self.env["ir.config_parameter"].set_param(CHUNK_SIZE_PARAM, "1")
        run = self.make_statement_run(self.customers, operation="generate")
        run.action_start()
        Run = self.env["sale.reconciliation.statement.run"]
        Run._cron_process_runs()
        self.assertEqual(run.generated_count, 1)

        with self.assertRaises(AccessError):
            run.with_user(self.salesperson).action_cancel()
        with self.assertRaises(UserError):
            run.unlink()
        run.with_user(self.other_manager).action_cancel()
        self.assertRecordValues(
            run, [{"state": "cancel", "generated_count": 1, "customer_count": 3}]
        )
        self.assertTrue(run.finished_date)
        self.assertIn("2 left undone", run.message_ids[0].body)

        self.assertEqual(Run._cron_process_runs(), 0, "nothing more is processed")
        self.assertRecordValues(run, [{"state": "cancel", "generated_count": 1}])
        self.assertEqual(len(run.statement_ids), 1, "what was done stays done")
        with self.assertRaises(UserError):
            run.action_cancel()
        run.unlink()
        self.assertFalse(run.exists())

    # -------------------------------------------------------------------------
    # Truthful lines
    # -------------------------------------------------------------------------

    @freeze_time("2025-05-05")
    def test_line_of_a_statement_cancelled_meanwhile_is_skipped(self):
        self.env["ir.config_parameter"].set_param(CHUNK_SIZE_PARAM, "3")
        run = self.make_statement_run(self.customers)
        run.action_start()
        Run = self.env["sale.reconciliation.statement.run"]
        Run._cron_process_runs()  # the generation chunk
        self.assertEqual(run.generated_count, 3)
        cancelled, deleted, kept = self.customers
        self.line_of(run, cancelled).statement_ids.action_cancel()
        self.line_of(run, deleted).statement_ids.unlink()

        self.process_statement_runs()

        self.assertRecordValues(
            run,
            [
                {
                    "state": "done",
                    "generated_count": 1,
                    "confirmed_count": 1,
                    "sent_count": 1,
                    "skipped_count": 2,
                    "failed_count": 0,
                }
            ],
        )
        self.assertRecordValues(
            self.line_of(run, cancelled) | self.line_of(run, deleted),
            [
                {
                    "state": "skipped",
                    "reason": "The statement was cancelled or deleted meanwhile.",
                },
                {"state": "skipped", "reason": "The statement was deleted meanwhile."},
            ],
        )
        self.assertEqual(self.line_of(run, cancelled).statement_ids.state, "cancel")
        self.assertEqual(self.line_of(run, kept).statement_ids.state, "sent")
        mails = self.env["mail.mail"].search(
            [
                ("model", "=", "sale.reconciliation.statement"),
                ("res_id", "in", run.statement_ids.ids),
            ]
        )
        self.assertEqual(mails.res_id, self.line_of(run, kept).statement_ids.id)
