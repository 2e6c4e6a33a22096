from freezegun import freeze_time

from odoo import Command
from odoo.tests import new_test_user, tagged

from odoo.addons.queue_job.tests.common import trap_jobs
from odoo.addons.sale_reconciliation.models.sale_reconciliation_followup_run import (
    CHUNK_SIZE_PARAM as FOLLOWUP_CHUNK_SIZE_PARAM,
)
from odoo.addons.sale_reconciliation.models.sale_reconciliation_statement_run import (
    CHUNK_SIZE_PARAM,
    PROCESS_CRON_XMLID,
)
from odoo.addons.sale_reconciliation.tests.common import StatementCommon
from odoo.addons.sale_reconciliation.tests.test_followup import FollowupCommon

CHANNEL = "root.sale_reconciliation"


@tagged("post_install", "-at_install")
class TestStatementRunQueue(StatementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customers = cls.create_invoiced_customers(
            "Queued Customer", 3, "example.com"
        )
        cls.env["ir.config_parameter"].set_param(CHUNK_SIZE_PARAM, "2")

    def test_chunks_are_jobs_on_the_channel_and_the_run_ends(self):
        run = self.make_statement_run(self.customers)
        cron = self.env.ref(PROCESS_CRON_XMLID)
        Trigger = self.env["ir.cron.trigger"].sudo()
        triggers_before = Trigger.search_count([("cron_id", "=", cron.id)])
        with trap_jobs() as trap:
            run.action_start()
            lines = run.line_ids.sorted("id")
            # Generation: the three customers in one job (five chunks a
            # job); then chunks of two and one customer to confirm and send;
            # then the end.
            trap.assert_jobs_count(3, only=run._job_process_lines)
            trap.assert_jobs_count(1, only=run._job_finish)
            trap.assert_enqueued_job(
                run._job_process_lines,
                args=(lines.ids,),
                kwargs={"states": ["todo"]},
                properties={"channel": CHANNEL},
            )
            for chunk in (lines[:2], lines[2:]):
                trap.assert_enqueued_job(
                    run._job_process_lines,
                    args=(chunk.ids,),
                    kwargs={"states": None},
                    properties={"channel": CHANNEL},
                )
            self.assertEqual({job.channel for job in trap.enqueued_jobs}, {CHANNEL})
            self.assertEqual(
                Trigger.search_count([("cron_id", "=", cron.id)]),
                triggers_before,
                "the jobs process the run, the scheduled action is not woken",
            )
            self.assertEqual(run.state, "running")
            trap.perform_enqueued_jobs()

        self.assertRecordValues(
            run,
            [
                {
                    "state": "done",
                    "generated_count": 3,
                    "sent_count": 3,
                    "failed_count": 0,
                    "progress": 100.0,
                }
            ],
        )
        self.assertEqual(run.statement_ids.partner_id, self.customers)
        self.assertEqual(set(run.statement_ids.mapped("state")), {"sent"})
        mails = self.env["mail.mail"].search(
            [
                ("model", "=", "sale.reconciliation.statement"),
                ("res_id", "in", run.statement_ids.ids),
            ]
        )
        self.assertEqual(len(mails), 3)

    def test_statements_are_confirmed_and_sent_by_jobs_side_by_side(self):
        """Generation jobs only generate: confirming, rendering and sending,
        most of a run, is left to jobs that do not wait for each other, so
        that several workers share it."""
        run = self.make_statement_run(self.customers)
        with trap_jobs() as trap:
            run.action_start()
            jobs = [
                job
                for job in trap.enqueued_jobs
                if job.method_name == "_job_process_lines"
            ]
        generation = [job for job in jobs if job.kwargs["states"] == ["todo"]]
        advance = [job for job in jobs if job.kwargs["states"] is None]
        self.assertEqual((len(generation), len(advance)), (1, 2))
        for job in advance:
            self.assertIn(generation[-1], job.depends_on)
            self.assertFalse(set(advance) & job.depends_on)
        for job in generation:
            job.perform()
        self.assertRecordValues(
            run,
            [{"state": "running", "generated_count": 3, "confirmed_count": 0}],
        )
        self.assertEqual(set(run.statement_ids.mapped("state")), {"draft"})
        # The second chunk's job may run before the first's.
        for job in reversed(advance):
            job.perform()
        self.assertRecordValues(
            run, [{"state": "running", "sent_count": 3, "failed_count": 0}]
        )
        self.assertEqual(set(run.statement_ids.mapped("state")), {"sent"})

    def test_a_job_done_again_changes_nothing(self):
        run = self.make_statement_run(self.customers, operation="confirm")
        with trap_jobs() as trap:
            run.action_start()
            first = trap.enqueued_jobs[0]
            trap.perform_enqueued_jobs()
        # The worker died after the job committed, before queue_job marked
        # it done: the job runs again.
        first.perform()
        self.assertRecordValues(
            run, [{"state": "done", "generated_count": 3, "confirmed_count": 3}]
        )
        self.assertEqual(
            self.env["sale.reconciliation.statement"].search_count(
                [("partner_id", "in", self.customers.ids)]
            ),
            3,
        )

    def test_jobs_of_a_starter_who_lost_the_right_end_the_run(self):
        """The jobs run as who started the run; they lost the reconciliation
        manager right meanwhile: the run is done all the same, as OdooBot."""
        starter = new_test_user(
            self.env,
            login="queued_run_starter",
            groups="account.group_account_manager,sales_team.group_sale_manager",
            company_id=self.env.company.id,
        )
        run = self.make_statement_run(self.customers, operation="confirm").with_user(
            starter
        )
        with trap_jobs() as trap:
            run.action_start()
            starter.groups_id = [
                Command.set(self.env.ref("sales_team.group_sale_salesman").ids)
            ]
            trap.perform_enqueued_jobs()
        self.assertRecordValues(
            run.with_env(self.env),
            [
                {
                    "state": "done",
                    "confirmed_count": 3,
                    "processed_by_id": self.env.ref("base.user_root").id,
                }
            ],
        )


@tagged("post_install", "-at_install")
class TestFollowupRunQueue(FollowupCommon):
    def test_followup_run_chunks_are_jobs_on_the_channel(self):
        no_email = self.env["res.partner"].create({"name": "No Email Ltd"})
        self.invoice_at("2025-02-01", 100.0, due="2025-03-01")
        self.invoice_at("2025-02-01", 70.0, due="2025-03-01", partner=no_email)
        self.invoice_at(
            "2025-02-01", 30.0, due="2025-03-01", partner=self.other_customer
        )
        self.env["ir.config_parameter"].set_param(FOLLOWUP_CHUNK_SIZE_PARAM, "2")
        Run = self.env["sale.reconciliation.followup.run"]
        with freeze_time("2025-03-05"), trap_jobs() as trap:
            # The daily scheduled action starts the run, makes jobs of its
            # chunks and processes the first chunk itself.
            Run._cron_process()
            run = Run.search([("company_id", "=", self.env.company.id)])
            trap.assert_jobs_count(2, only=run._job_process_lines)
            trap.assert_jobs_count(1, only=run._job_finish)
            self.assertEqual({job.channel for job in trap.enqueued_jobs}, {CHANNEL})
            self.assertRecordValues(run, [{"state": "running", "todo_count": 1}])
            trap.perform_enqueued_jobs()
            self.assertRecordValues(
                run,
                [{"state": "failed", "sent_count": 2, "failed_count": 1}],
            )
            self.assertEqual(
                run.line_ids.filtered(lambda line: line.state == "failed").partner_id,
                no_email,
            )
            self.assertEqual(len(self.mails_to(self.customer)), 1)
            self.assertEqual(len(self.mails_to(self.other_customer)), 1)
