from odoo.tests import tagged

from odoo.addons.queue_job.tests.common import trap_jobs
from odoo.addons.sale_reconciliation.models.sale_reconciliation_credit_refresh_run import (  # noqa: E501
    CHUNK_SIZE_PARAM,
    PROCESS_CRON_XMLID,
)
from odoo.addons.sale_reconciliation.tests.test_credit_refresh_run import (
    CreditRefreshRunCommon,
)

CHANNEL = "root.sale_reconciliation"


@tagged("post_install", "-at_install")
class TestCreditRefreshRunQueue(CreditRefreshRunCommon):
    def test_credit_refresh_chunks_are_jobs_on_the_channel(self):
        self.env["ir.config_parameter"].set_param(CHUNK_SIZE_PARAM, "3")
        cron = self.env.ref(PROCESS_CRON_XMLID)
        Trigger = self.env["ir.cron.trigger"].sudo()
        triggers_before = Trigger.search_count([("cron_id", "=", cron.id)])
        with trap_jobs() as trap:
            # The nightly scheduled action starts a run per company, makes
            # jobs of their chunks and processes the first chunk itself.
            self.Profile._cron_refresh()
            run, run_2 = self.run_of(self.company), self.run_of(self.company_2)
            lines = run.line_ids.sorted("id")
            trap.assert_jobs_count(2, only=run._job_process_lines)
            trap.assert_jobs_count(1, only=run._job_finish)
            for chunk in (lines[:3], lines[3:]):
                trap.assert_enqueued_job(
                    run._job_process_lines,
                    args=(chunk.ids,),
                    kwargs={"states": None},
                    properties={"channel": CHANNEL},
                )
            trap.assert_enqueued_job(
                run_2._job_process_lines,
                args=(run_2.line_ids.ids,),
                kwargs={"states": None},
                properties={"channel": CHANNEL},
            )
            self.assertEqual({job.channel for job in trap.enqueued_jobs}, {CHANNEL})
            self.assertEqual(
                Trigger.search_count([("cron_id", "=", cron.id)]),
                triggers_before,
                "the jobs process the runs, the scheduled action is not woken",
            )
            self.assertRecordValues(
                run, [{"state": "running", "done_count": 3, "todo_count": 1}]
            )
            trap.perform_enqueued_jobs()

        self.assertRecordValues(
            run | run_2,
            [
                {"state": "done", "done_count": 4, "failed_count": 0},
                {"state": "done", "done_count": 1, "failed_count": 0},
            ],
        )
        self.assertFiguresRight()
        self.assertEqual(
            self.profile(self.customer_2, self.company_2).credit_exposure, 900.0
        )
