"""The run engine: a long job of the module (a statement run, a follow-up
run, ...) is a run with one line per unit of work (a customer), processed a
chunk of lines per transaction, by Odoo's scheduled action (its batches,
``ir.cron._notify_progress``) or by queue_job (sale_reconciliation_queue).

A line moves in the same transaction as the work it records, so a run killed
at any point resumes without doing anything twice; a line that fails is
listed with its reason while the others go on; a chunk that fails as a whole
stops its own run (failed, with the error), never the other runs.
"""

import logging
import time
from datetime import timedelta

from psycopg2 import OperationalError

from odoo import SUPERUSER_ID, Command, _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.service.model import PG_CONCURRENCY_ERRORS_TO_RETRY
from odoo.tools import SQL

from .reconciliation_access import CREDIT_MANAGER_GROUP, WorkflowGuard

_logger = logging.getLogger(__name__)

# The engine's own writes of runs and lines carry this guard's token.
RUN_GUARD = WorkflowGuard("sale_reconciliation_run")
# A chunk takes no further line after this many seconds: Odoo's workers
# kill a scheduled action after limit_time_real_cron (120 s by default).
CHUNK_TIME_LIMIT = 30
# Fields of a run only the engine writes (each kind adds its own).
RUN_ENGINE_FIELDS = {
    "state",
    "started_by_id",
    "started_date",
    "finished_date",
    "processed_by_id",
    "error",
    "line_ids",
}


def error_message(exc):
    """The message of an error, as the user reads it."""
    return str(exc.args[0] if exc.args else exc)[:500]


def is_concurrency_error(exc):
    """A lock held or a row changed by another transaction: the work is done
    again later, nobody is blamed for it."""
    return (
        isinstance(exc, OperationalError)
        and exc.pgcode in PG_CONCURRENCY_ERRORS_TO_RETRY
    )


class SaleReconciliationRunMixin(models.AbstractModel):
    """What every run kind shares. A kind sets the class attributes below,
    names the model of its lines in ``line_ids`` (a model inheriting the line
    mixin, whose ``run_id`` names the kind), has a ``state`` (with
    ``running``, ``done``, ``failed`` and ``cancel``) and implements
    :meth:`_process_lines`."""

    _name = "sale.reconciliation.run.mixin"
    _description = "Run Processed in Chunks"

    # The model of the run's lines.
    _run_line_model = None
    # The scheduled action processing the runs of this kind.
    _run_process_cron = None
    # The technical setting of the chunk size, and its default.
    _run_chunk_size_param = None
    _run_default_chunk_size = 20
    # Fields only the engine and the run's actions write.
    _run_workflow_fields = RUN_ENGINE_FIELDS
    # The counts of the run's lines: {count field: line state}.
    _run_count_fields = {"failed_count": "failed"}

    # -------------------------------------------------------------------------
    # FIELDS
    # -------------------------------------------------------------------------

    company_id = fields.Many2one("res.company", required=True, index=True)
    # Each kind names its own line model: fields.One2many("<kind>.line").
    line_ids = fields.One2many(
        "sale.reconciliation.run.line.mixin",
        "run_id",
        string="Customers",
        readonly=True,
    )
    # Counted on the fly rather than stored: workers processing chunks of a
    # run at once then never write its row.
    failed_count = fields.Integer(string="Failed", compute="_compute_counts")
    started_by_id = fields.Many2one(
        "res.users",
        readonly=True,
        copy=False,
        help="The run works with this user's rights while they have them.",
    )
    started_date = fields.Datetime(readonly=True, copy=False)
    finished_date = fields.Datetime(readonly=True, copy=False)
    processed_by_id = fields.Many2one(
        "res.users",
        string="Processed As",
        readonly=True,
        copy=False,
        help="The user whose rights the run works with: who started it while "
        "they may, otherwise OdooBot (the run's history says why).",
    )
    error = fields.Text(
        readonly=True,
        copy=False,
        help="Why the run stopped before the end.",
    )
    progress = fields.Float(
        compute="_compute_progress",
        help="Share of the customers the run has finished with.",
    )

    # -------------------------------------------------------------------------
    # COMPUTE METHODS
    # -------------------------------------------------------------------------

    def _get_line_counts(self):
        """{run id: {line state: count}}"""
        counts = {}
        for run, state, count in self.env[self._run_line_model]._read_group(
            [("run_id", "in", self.ids)], ["run_id", "state"], ["__count"]
        ):
            counts.setdefault(run.id, {})[state] = count
        return counts

    @api.depends("line_ids.state")
    def _compute_counts(self):
        counts = self._get_line_counts()
        for run in self:
            by_state = counts.get(run.id, {})
            for fname, state in run._run_count_fields.items():
                run[fname] = by_state.get(state, 0)

    @api.depends("line_ids.state", "state")
    def _compute_progress(self):
        counts = self._get_line_counts()
        for run in self:
            by_state = counts.get(run.id, {})
            total = sum(by_state.values())
            open_count = sum(
                by_state.get(state, 0) for state in run._get_open_line_states()
            )
            run.progress = (
                100.0 * (total - open_count) / total
                if total
                else (100.0 if run.state in ("done", "failed") else 0.0)
            )

    # -------------------------------------------------------------------------
    # CRUD
    # -------------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            RUN_GUARD.check_create(
                self,
                vals,
                self._run_workflow_fields,
                initial={"state": self._get_initial_state()},
                message=_(
                    "A run starts as a draft: its state and customers are set "
                    "when it is started."
                ),
            )
        return super().create(vals_list)

    def write(self, vals):
        RUN_GUARD.check_write(
            self,
            vals,
            self._run_workflow_fields,
            message=_(
                "The state and the customers of a run change only through the "
                "run itself (start it, it does the rest)."
            ),
        )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_running(self):
        if self.filtered(lambda run: run.state == "running"):
            raise UserError(_("A running run cannot be deleted: cancel it first."))

    # -------------------------------------------------------------------------
    # ACTIONS
    # -------------------------------------------------------------------------

    def action_cancel(self):
        """Stop running runs after the chunk being processed: what is done
        stays done and is counted; the customers left are not processed."""
        self._check_run_manager(_("cancel runs"))
        self.check_access("read")
        if self.filtered(lambda run: run.state != "running"):
            raise UserError(_("Only a running run can be cancelled."))
        # sudo: the engine's state of a run - the right is checked above,
        # and some kinds of runs are written by nobody else.
        runs_sudo = self.sudo()
        runs_sudo._write_run(
            {"state": "cancel", "finished_date": fields.Datetime.now()}
        )
        counts = self._get_line_counts()
        for run in runs_sudo:
            by_state = counts.get(run.id, {})
            left = sum(by_state.get(s, 0) for s in run._get_open_line_states())
            run._log_run(
                _(
                    "Run cancelled by %(user)s: %(done)s customers done, "
                    "%(left)s left undone.",
                    user=self.env.user.name,
                    done=sum(by_state.values()) - left,
                    left=left,
                )
            )
        return True

    # -------------------------------------------------------------------------
    # WHAT EACH KIND OF RUN IMPLEMENTS
    # -------------------------------------------------------------------------

    @api.model
    def _get_initial_state(self):
        return "draft"

    def _get_open_line_states(self):
        """The states of the lines with something left to do."""
        return ("todo",)

    def _check_run_manager(self, what):
        raise NotImplementedError()

    def _may_process_as(self, user):
        """Whether the run may work with the rights of ``user``."""
        return False

    def _process_lines(self, lines):
        """Do the work of these locked open lines, each line's state moved
        in the same transaction as its work.

        :return: the number of lines processed (0 when what they need is
            held by another transaction)
        """
        raise NotImplementedError()

    def _log_run(self, body):
        """Record ``body`` in the run's history."""
        self.ensure_one()
        if hasattr(self, "message_post"):
            self.message_post(body=body)
        else:
            _logger.info("%s: %s", self.display_name, body)

    def _on_finish(self):
        """Called on each run that ended."""

    # -------------------------------------------------------------------------
    # SCHEDULING
    # -------------------------------------------------------------------------

    def _schedule_processing(self):
        """Wake the scheduled action that processes running runs. The
        sale_reconciliation_queue add-on makes jobs of the chunks instead."""
        if not self.filtered(lambda run: run.state == "running"):
            # No run started (a daily run's company had nothing to do): a
            # trigger would call the scheduled action again at once, which
            # would trigger itself again, without end.
            return
        cron = self.env.ref(self._run_process_cron, raise_if_not_found=False)
        if cron:
            cron._trigger()

    def _plan_chunks(self):
        """The run's open lines cut in chunks, for workers processing them
        side by side (sale_reconciliation_queue): a list of dicts with
        ``line_ids``, ``states`` (the line states the chunk processes, None
        for all open ones), ``after`` (the index of the chunk it must wait
        for, or None), ``priority`` (None for the default) and ``label``."""
        self.ensure_one()
        size = self._get_chunk_size()
        lines = self._get_open_lines()
        return [
            {
                "line_ids": lines[start : start + size].ids,
                "states": None,
                "after": None,
                "priority": None,
                "label": _("process"),
            }
            for start in range(0, len(lines), size)
        ]

    def _get_open_lines(self):
        self.ensure_one()
        open_states = self._get_open_line_states()
        return self.line_ids.filtered(lambda line: line.state in open_states).sorted(
            "id"
        )

    @api.model
    def _get_chunk_size(self):
        # sudo: ir.config_parameter - a technical setting every run reads
        param = self.env["ir.config_parameter"].sudo()
        value = param.get_param(self._run_chunk_size_param) or ""
        if value.isdigit() and int(value) > 0:
            return int(value)
        return self._run_default_chunk_size

    @api.model
    def _cron_process_runs(self):
        """One chunk of the running runs per call, in its own transaction:
        Odoo's scheduled action calls again at once while some remain. A run
        whose chunk fails is marked failed, and the next call goes on with
        the others."""
        runs = self.search([("state", "=", "running")], order="id")
        done = 0
        size = self._get_chunk_size()
        for run in runs:
            processed = run._run_chunk(size)
            if run.state != "running":
                continue
            if processed is None or (processed and not self._count_open_lines(run)):
                run._finish()
            if processed:
                done += processed
                break
        remaining = self._count_open_lines(
            runs.filtered(lambda r: r.state == "running")
        )
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        if remaining and not done:
            # Every open line is held by another worker or transaction: look
            # again in a minute rather than at the next interval.
            cron = self.env.ref(self._run_process_cron, raise_if_not_found=False)
            if cron:
                cron._trigger(fields.Datetime.now() + timedelta(minutes=1))
        return done

    # -------------------------------------------------------------------------
    # PROCESSING
    # -------------------------------------------------------------------------

    def _run_chunk(self, limit, line_ids=None, states=None):
        """Process one chunk of the run, isolated from the other runs: a
        chunk that raises is undone and stops its run (failed, with the
        error); one that meets a lock held elsewhere is left for later.

        :return: as :meth:`_process_chunk`; None too when the run failed
        """
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                return self._process_chunk(limit, line_ids=line_ids, states=states)
        except Exception as exc:  # noqa: BLE001 - the run fails with the reason
            if is_concurrency_error(exc):
                _logger.info("%s: chunk left for later: %s", self.display_name, exc)
                return 0
            _logger.exception("%s: chunk failed", self.display_name)
            self._fail(exc)
            return None

    def _process_chunk(self, limit, line_ids=None, states=None):
        """Process up to ``limit`` open lines of the run (of ``line_ids``
        only, when given; in ``states`` only, when given), with the rights
        of the user the run works as.

        :return: the number of lines processed (0 when the open ones are
            held by another worker), or None when none is left
        """
        self.ensure_one()
        run = self._get_processing_run()
        lines = run._lock_open_lines(limit, line_ids, states=states)
        if not lines:
            left = self._count_open_lines(self, line_ids, states=states)
            return 0 if left else None
        return run._process_lines(lines)

    def _get_processing_run(self):
        """The run in the environment it works in: as who started it while
        they may, otherwise as OdooBot, in the run's company only. The
        switch is recorded on the run and in its history."""
        self.ensure_one()
        starter = self.started_by_id
        if starter and self._may_process_as(starter):
            user = starter
        else:
            user = self.env["res.users"].browse(SUPERUSER_ID)
        if self.processed_by_id != user:
            if starter and self.processed_by_id:
                self._log_run(
                    _(
                        "%(user)s may no longer run this for %(company)s: the "
                        "run goes on as %(bot)s.",
                        user=starter.name,
                        company=self.company_id.name,
                        bot=user.name,
                    )
                    if user != starter
                    else _("The run goes on as %(user)s.", user=user.name)
                )
            self._write_run({"processed_by_id": user.id})
        company = self.company_id
        return (
            self.with_user(user)
            .with_company(company)
            .with_context(allowed_company_ids=[company.id])
        )

    @api.model
    def _count_open_lines(self, runs, line_ids=None, states=None):
        """Lines of these runs (of ``line_ids`` only, when given; in
        ``states`` only, when given) with something left to do."""
        if not runs:
            return 0
        Line = self.env[self._run_line_model]
        Line.flush_model(["run_id", "state"])
        total = 0
        for open_states, group in runs.grouped(
            lambda run: tuple(run._get_open_line_states())
        ).items():
            wanted = [s for s in open_states if states is None or s in states]
            if not wanted:
                continue
            [[count]] = self.env.execute_query(
                SQL(
                    """
                    SELECT COUNT(*)
                      FROM %s
                     WHERE run_id = ANY(%s)
                       AND state = ANY(%s)
                       AND (%s::int[] IS NULL OR id = ANY(%s::int[]))
                    """,
                    SQL.identifier(Line._table),
                    group.ids,
                    wanted,
                    line_ids,
                    line_ids,
                )
            )
            total += count
        return total

    def _lock_open_lines(self, limit, line_ids=None, states=None):
        """Up to ``limit`` open lines of this run (in ``states`` only, when
        given), locked for this transaction; those another worker holds are
        left to it. The lines to do from the start come first."""
        self.ensure_one()
        Line = self.env[self._run_line_model]
        Line.flush_model(["run_id", "state"])
        wanted = [
            s for s in self._get_open_line_states() if states is None or s in states
        ]
        if not wanted:
            return Line
        rows = self.env.execute_query(
            SQL(
                """
                SELECT id
                  FROM %s
                 WHERE run_id = %s
                   AND state = ANY(%s)
                   AND (%s::int[] IS NULL OR id = ANY(%s::int[]))
                 ORDER BY state = 'todo' DESC, id
                 LIMIT %s
                   FOR UPDATE SKIP LOCKED
                """,
                SQL.identifier(Line._table),
                self.id,
                wanted,
                line_ids,
                line_ids,
                limit,
            )
        )
        return Line.browse([row[0] for row in rows])

    def _process_each_line(self, lines, process, label):
        """Run ``process(line)`` for each line in a savepoint: a line that
        fails is rolled back alone and listed with its reason; a lock or a
        concurrent update undoes the whole chunk, done again later. Lines
        left when the chunk's time is up stay open for the next chunk.

        :return: the number of lines processed
        """
        deadline = time.monotonic() + CHUNK_TIME_LIMIT
        count = 0
        for line in lines:
            if count and time.monotonic() > deadline:
                break
            count += 1
            try:
                with self.env.cr.savepoint():
                    process(line)
            except Exception as exc:  # noqa: BLE001 - listed as the reason
                if is_concurrency_error(exc):
                    raise
                _logger.info(
                    "%s %s: %s failed: %s",
                    label,
                    self.id,
                    line.partner_id.name,
                    exc,
                )
                line._write_line({"state": "failed", "reason": error_message(exc)})
        return count

    def _finish(self):
        counts = self._get_line_counts()
        for run in self:
            failed = counts.get(run.id, {}).get("failed", 0)
            run._write_run(
                {
                    "state": "failed" if failed else "done",
                    "finished_date": fields.Datetime.now(),
                }
            )
            run._on_finish()

    def _fail(self, exc):
        """Stop the run on an error of a whole chunk."""
        for run in self:
            run._write_run(
                {
                    "state": "failed",
                    "error": error_message(exc),
                    "finished_date": fields.Datetime.now(),
                }
            )
            run._log_run(
                _("The run stopped on an error: %(error)s", error=error_message(exc))
            )

    def _write_run(self, vals):
        return RUN_GUARD.allow(self).write(vals)


class SaleReconciliationDailyRunMixin(models.AbstractModel):
    """A run a day per company, with a line per customer, started by a
    scheduled action (follow-up, credit refresh): a kind sets the engine's
    class attributes, names its line model in ``line_ids``, and implements
    :meth:`_start`, :meth:`_get_run_title` and :meth:`_process_lines`; it
    declares its ``UNIQUE(company_id, date)`` constraint with its own
    message."""

    _name = "sale.reconciliation.daily.run.mixin"
    _description = "Daily Run of a Company"
    _inherit = ["sale.reconciliation.run.mixin"]
    _order = "date desc, id desc"
    _check_company_auto = True

    _run_count_fields = {"failed_count": "failed", "todo_count": "todo"}

    # -------------------------------------------------------------------------
    # FIELDS
    # -------------------------------------------------------------------------

    # Runs and their lines are written by the scheduled action only (as
    # superuser); credit managers read them, and may cancel a running one.
    company_id = fields.Many2one(readonly=True)
    date = fields.Date(required=True, readonly=True)
    state = fields.Selection(
        selection=[
            ("running", "Running"),
            ("done", "Done"),
            ("failed", "Failed"),
            ("cancel", "Cancelled"),
        ],
        required=True,
        default="running",
        index=True,
        readonly=True,
        help="Failed: the run went through every customer, and some failed "
        "(they are listed with the reason), or it stopped on an error. "
        "Cancelled: stopped by a credit manager; what was done stays done.",
    )
    todo_count = fields.Integer(string="To Do", compute="_compute_counts")

    # -------------------------------------------------------------------------
    # COMPUTE METHODS
    # -------------------------------------------------------------------------

    @api.depends("company_id", "date")
    def _compute_display_name(self):
        for run in self:
            run.display_name = run._get_run_title(
                run.company_id.name or "", run.date or ""
            )

    # -------------------------------------------------------------------------
    # SCHEDULED ACTION
    # -------------------------------------------------------------------------

    @api.model
    def _cron_process(self):
        """Start today's run of each company, then process one chunk of
        customers per call, in its own transaction: the scheduled action is
        called again at once while some remain."""
        # sudo: scheduled action - every company's customers, whatever
        # companies the cron user is allowed in.
        run_model = self.sudo()
        today = fields.Date.context_today(run_model)
        for company in run_model.env["res.company"].search([]):
            run_model._start(company, today)._schedule_processing()
        return run_model._cron_process_runs()

    @api.model
    def _create_run(self, company, today, line_vals_list):
        """The run of ``company`` on ``today``, running, with these lines."""
        run = RUN_GUARD.allow(self).create(
            {
                "company_id": company.id,
                "date": today,
                "started_date": fields.Datetime.now(),
                "processed_by_id": SUPERUSER_ID,
                "line_ids": [Command.create(vals) for vals in line_vals_list],
            }
        )
        return run.with_env(self.env)

    # -------------------------------------------------------------------------
    # WHAT EACH KIND OF DAILY RUN IMPLEMENTS
    # -------------------------------------------------------------------------

    @api.model
    def _start(self, company, today):
        """Today's run of ``company`` (made with :meth:`_create_run`), or an
        empty recordset when it needs none."""
        raise NotImplementedError()

    def _get_run_title(self, company_name, date):
        """The run's name, from its company's name and date."""
        raise NotImplementedError()

    # -------------------------------------------------------------------------
    # PROCESSING (the run engine's hooks)
    # -------------------------------------------------------------------------

    @api.model
    def _get_initial_state(self):
        return "running"

    def _check_run_manager(self, what):
        if not (self.env.su or self.env.user.has_group(CREDIT_MANAGER_GROUP)):
            raise AccessError(_("Only credit managers may %(what)s.", what=what))

    # The run always works as OdooBot (the engine's fallback): the scheduled
    # action starts it, nobody else.


class SaleReconciliationRunLineMixin(models.AbstractModel):
    """One unit of work of a run (a customer): where it stands, so that a run
    interrupted at any point resumes where it stopped. Only the engine
    writes lines. A kind names its run model in ``run_id`` and its states in
    ``state`` (with ``todo`` and ``failed``)."""

    _name = "sale.reconciliation.run.line.mixin"
    _description = "Line of a Run Processed in Chunks"
    _order = "run_id, id"

    # Each kind names its own run model: fields.Many2one("<kind>").
    run_id = fields.Many2one(
        "sale.reconciliation.run.mixin",
        required=True,
        index=True,
        ondelete="cascade",
        readonly=True,
    )
    company_id = fields.Many2one(related="run_id.company_id", store=True, index=True)
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, readonly=True
    )
    # Each kind lists its states, todo and failed among them:
    # fields.Selection(selection=[...]). The engine's are a method here, not
    # a list: Odoo warns when a list of values replaces another list.
    state = fields.Selection(
        selection="_selection_state",
        required=True,
        default="todo",
        index=True,
        readonly=True,
    )
    reason = fields.Char(readonly=True)

    # -------------------------------------------------------------------------
    # SELECTION METHODS
    # -------------------------------------------------------------------------

    @api.model
    def _selection_state(self):
        """The states the engine moves a line to."""
        return [("todo", _("To Do")), ("failed", _("Failed"))]

    # -------------------------------------------------------------------------
    # CRUD
    # -------------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        self._check_run_write()
        return super().create(vals_list)

    def write(self, vals):
        self._check_run_write()
        return super().write(vals)

    def _write_line(self, vals):
        return RUN_GUARD.allow(self).write(vals)

    def _check_run_write(self):
        if not RUN_GUARD.is_allowed(self):
            raise UserError(
                _(
                    "The customers of a run and where each stands are set by the "
                    "run itself: start it, it does the rest."
                )
            )
