"""Statement runs processed by queue_job: one job per chunk of customers."""

from odoo import _, models

from odoo.addons.queue_job.delay import chain, group
from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.sale_reconciliation.models.sale_reconciliation_statement_run import (
    OPEN_LINE_STATES,
)

CHANNEL = "root.sale_reconciliation"
# Generating statements is quick next to rendering and sending them, and the
# generation jobs of a company go one after the other: each takes this many
# chunks, so that the part of the run no second worker can share is short.
GENERATION_CHUNKS_PER_JOB = 5


class SaleReconciliationStatementRun(models.Model):
    _inherit = "sale.reconciliation.statement.run"

    def _schedule_processing(self):
        # REPLACES the wake-up of the scheduled action: the chunks become
        # jobs. The scheduled action stays as a safety net, and works along
        # the jobs (each customer is locked by whoever processes it).
        for run in self.filtered(lambda r: r.state == "running"):
            run._enqueue_chunk_jobs()

    def _enqueue_chunk_jobs(self):
        """The generation chunks one after the other (statements of a
        company are made by one transaction at a time), then the chunks to
        confirm and send side by side, on as many workers as the channel
        allows, then the end of the run."""
        self.ensure_one()
        size = self._get_chunk_size()
        lines = self.line_ids.filtered(
            lambda line: line.state in OPEN_LINE_STATES[self.operation]
        ).sorted("id")
        todo = lines.filtered(lambda line: line.state == "todo")
        # A generation job only generates: were it to confirm and send its
        # customers too, the whole run would go one job after the other.
        generation_size = size * GENERATION_CHUNKS_PER_JOB
        steps = [
            self._delayable_chunk(
                todo[start : start + generation_size],
                _("generate"),
                generate_only=True,
            )
            for start in range(0, len(todo), generation_size)
        ]
        if self.operation != "generate":
            advance = [
                self._delayable_chunk(lines[start : start + size], _("confirm, send"))
                for start in range(0, len(lines), size)
            ]
            if advance:
                steps.append(group(*advance))
        steps.append(
            self.delayable(
                channel=CHANNEL,
                description=_("Statement run %(name)s: finish", name=self.name),
            )._job_finish()
        )
        chain(*steps).delay()

    def _delayable_chunk(self, lines, what, generate_only=False):
        return self.delayable(
            channel=CHANNEL,
            description=_(
                "Statement run %(name)s: %(what)s %(count)s customers",
                name=self.name,
                what=what,
                count=len(lines),
            ),
        )._job_process_lines(lines.ids, generate_only=generate_only)

    def _job_process_lines(self, line_ids, generate_only=False):
        """Job: process these customers of the run (only generate their
        statements, with ``generate_only``), in this job's transaction."""
        self.ensure_one()
        if self.state != "running":
            return _("The run is no longer running.")
        processed = 0
        while True:
            count = self._process_chunk(
                len(line_ids), line_ids=line_ids, generate_only=generate_only
            )
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
                # made by another transaction: try again shortly.
                raise RetryableJobError(
                    _("Customers of the run are being processed elsewhere."),
                    seconds=10,
                    ignore_retry=True,
                )
            processed += count

    def _job_finish(self):
        """Job: close the run once every customer is done with."""
        self.ensure_one()
        if self.state != "running":
            return _("The run is no longer running.")
        if self._count_open_lines(self):
            # A customer was held by the scheduled action meanwhile: its
            # customers left get jobs again.
            self._enqueue_chunk_jobs()
            return _("Customers left: jobs enqueued again.")
        self._finish()
        return _("Run finished.")
