from odoo.tests import tagged

from odoo.addons.queue_job.tests.common import trap_jobs
from odoo.addons.sale_reconciliation.models.sale_reconciliation_match_run import (
    CHUNK_SIZE_PARAM,
)
from odoo.addons.sale_reconciliation.tests.test_payment_matching import (
    PaymentMatchingCommon,
)

CHANNEL = "root.sale_reconciliation"


@tagged("post_install", "-at_install")
class TestMatchRunQueue(PaymentMatchingCommon):
    def test_matching_chunks_are_jobs_on_the_channel(self):
        self.env["ir.config_parameter"].set_param(CHUNK_SIZE_PARAM, "2")
        customers = self.customer | self.env["res.partner"].create(
            [
                {"name": f"Queued Customer {index}", "is_company": True}
                for index in (1, 2)
            ]
        )
        invoices = self.env["account.move"]
        for index, customer in enumerate(customers):
            amount = 100.0 + index
            invoice = self.invoice_at(self.days_ago(10), amount, partner=customer)
            self.payment(amount, memo=invoice.name, partner=customer)
            invoices |= invoice
        with trap_jobs() as trap:
            # The scheduled action starts the day's run, makes jobs of its
            # chunks and matches the first chunk itself.
            self.env["sale.reconciliation.match"]._cron_match()
            run = self.env["sale.reconciliation.match.run"].search([])
            lines = run.line_ids.sorted("id")
            trap.assert_jobs_count(2, only=run._job_process_lines)
            trap.assert_jobs_count(1, only=run._job_finish)
            for chunk in (lines[:2], lines[2:]):
                trap.assert_enqueued_job(
                    run._job_process_lines,
                    args=(chunk.ids,),
                    kwargs={"states": None},
                    properties={"channel": CHANNEL},
                )
            self.assertEqual({job.channel for job in trap.enqueued_jobs}, {CHANNEL})
            self.assertRecordValues(
                run, [{"state": "running", "done_count": 2, "todo_count": 1}]
            )
            trap.perform_enqueued_jobs()

        self.assertRecordValues(
            run, [{"state": "done", "done_count": 3, "matched_count": 3}]
        )
        self.assertEqual(set(invoices.mapped("payment_state")), {"paid"})
