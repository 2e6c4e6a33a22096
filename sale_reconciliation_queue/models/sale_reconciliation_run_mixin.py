"""Runs of the run engine (statement runs, follow-up runs, ...) processed by
queue_job: one job per chunk of lines, on the channel
root.sale_reconciliation."""

from odoo import _, models

from odoo.addons.queue_job.delay import group
from odoo.addons.queue_job.exception import RetryableJobError

CHANNEL = "root.sale_reconciliation"


class SaleReconciliationRunMixin(models.AbstractModel):
    _inherit = "sale.reconciliation.run.mixin"

    def _schedule_processing(self):
        # REPLACES the wake-up of the scheduled action: the chunks become
        # jobs. The scheduled action stays as a safety net, and works along
        # the jobs (each line is locked by whoever processes it).
        for run in self.filtered(lambda r: r.state == "running"):
            run._enqueue_chunk_jobs()

    def _enqueue_chunk_jobs(self):
        """A job per chunk of the run's plan, each after the chunk it needs,
        then the end of the run after all of them."""
        self.ensure_one()
        finish = self.delayable(
            channel=CHANNEL,
            description=_("%(run)s: finish", run=self.display_name),
        )._job_finish()
        plan = self._plan_chunks()
        delayables = []
        for chunk in plan:
            delayable = self.delayable(
                channel=CHANNEL,
                priority=chunk.get("priority"),
                description=_(
                    "%(run)s: %(what)s, %(count)s customers",
                    run=self.display_name,
                    what=chunk["label"],
                    count=len(chunk["line_ids"]),
                ),
            )._job_process_lines(chunk["line_ids"], states=chunk["states"])
            if chunk["after"] is not None:
                delayables[chunk["after"]].on_done(delayable)
            delayable.on_done(finish)
            delayables.append(delayable)
        roots = [
            delayable
            for delayable, chunk in zip(delayables, plan, strict=True)
            if chunk["after"] is None
        ]
        if roots:
            group(*roots).delay()
        else:
            finish.delay()

    def _job_process_lines(self, line_ids, states=None):
        """Job: process these lines of the run (in ``states`` only, when
        given), in this job's transaction. A chunk that fails stops the run
        and ends the job; the jobs after it find the run stopped."""
        self.ensure_one()
        # sudo: the job only reads the run's state; the engine chooses the
        # user the work is done as, whoever enqueued the job.
        run = self.sudo()
        if run.state != "running":
            return _("The run is no longer running.")
        processed = 0
        while True:
            count = run._run_chunk(len(line_ids), line_ids=line_ids, states=states)
            if run.state != "running":
                return _("The run stopped: %(error)s", error=run.error or run.state)
            if count is None:
                return _("%(count)s customers processed.", count=processed)
            if count == 0 and processed:
                # The others are held by another worker, which does them: a
                # retry would roll back those done here.
                return _(
                    "%(count)s customers processed, the others elsewhere.",
                    count=processed,
                )
            if count == 0:
                # Held by another worker, or statements of the company being
                # made by another transaction: tried again shortly, and
                # counted as a retry.
                raise RetryableJobError(
                    _("Customers of the run are being processed elsewhere."),
                    seconds=10,
                )
            processed += count

    def _job_finish(self):
        """Job: close the run once every line is done with."""
        self.ensure_one()
        # sudo: as in _job_process_lines.
        run = self.sudo()
        if run.state != "running":
            return _("The run is no longer running.")
        if run._count_open_lines(run):
            # Lines were held by the scheduled action, or their chunk was
            # undone by a concurrent update: the lines left get jobs again.
            run._enqueue_chunk_jobs()
            return _("Customers left: jobs enqueued again.")
        run._finish()
        return _("Run finished.")
