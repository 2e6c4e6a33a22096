"""Follow-up runs: the automatic reminders of a company's day, sent a chunk
of customers per transaction, each customer's state kept on its line so that
a run interrupted at any point resumes without reminding anyone twice."""

import logging

import psycopg2
from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models
from odoo.tools import SQL

from .sale_reconciliation_statement_run import _error

_logger = logging.getLogger(__name__)

CHUNK_SIZE_PARAM = "sale_reconciliation.followup_run_chunk_size"
DEFAULT_CHUNK_SIZE = 50
PROCESS_CRON_XMLID = "sale_reconciliation.ir_cron_process_followups"


class SaleReconciliationFollowupRun(models.Model):
    _name = "sale.reconciliation.followup.run"
    _description = "Follow-up Run"
    _order = "date desc, id desc"
    _check_company_auto = True

    # Runs and their lines are written by the scheduled action only (as
    # superuser); credit managers read them (no write access at all).
    company_id = fields.Many2one(
        "res.company", required=True, index=True, readonly=True
    )
    date = fields.Date(required=True, readonly=True)
    state = fields.Selection(
        selection=[("running", "Running"), ("done", "Done"), ("failed", "Failed")],
        required=True,
        default="running",
        index=True,
        readonly=True,
        help="Failed: the run went through every customer, and some failed; "
        "they are listed with the reason.",
    )
    line_ids = fields.One2many(
        "sale.reconciliation.followup.run.line",
        "run_id",
        string="Customers",
        readonly=True,
    )
    sent_count = fields.Integer(string="Reminded", compute="_compute_counts")
    failed_count = fields.Integer(string="Failed", compute="_compute_counts")
    todo_count = fields.Integer(string="To Do", compute="_compute_counts")

    _sql_constraints = [
        (
            "company_date_uniq",
            "UNIQUE(company_id, date)",
            "A company has one follow-up run a day.",
        ),
    ]

    @api.depends("line_ids.state")
    def _compute_counts(self):
        counts = {}
        for run, state, count in self.env[
            "sale.reconciliation.followup.run.line"
        ]._read_group([("run_id", "in", self.ids)], ["run_id", "state"], ["__count"]):
            counts.setdefault(run.id, {})[state] = count
        for run in self:
            by_state = counts.get(run.id, {})
            run.sent_count = by_state.get("sent", 0)
            run.failed_count = by_state.get("failed", 0)
            run.todo_count = by_state.get("todo", 0)

    @api.depends("company_id", "date")
    def _compute_display_name(self):
        for run in self:
            run.display_name = _(
                "Follow-up of %(company)s on %(date)s",
                company=run.company_id.name or "",
                date=run.date or "",
            )

    # -------------------------------------------------------------------------
    # SCHEDULED ACTION
    # -------------------------------------------------------------------------

    @api.model
    def _cron_process(self):
        """Start today's run of each company with automatic levels, then
        process one chunk of customers per call, in its own transaction: the
        scheduled action is called again at once while some remain."""
        # sudo: scheduled action - every company's customers.
        run_model = self.sudo()
        today = fields.Date.context_today(self)
        for company in run_model.env["res.company"].search([]):
            run_model._start(company, today)
        done = 0
        runs = run_model.search([("state", "=", "running")], order="id")
        for run in runs:
            processed = run._process_chunk(run_model._get_chunk_size())
            if processed is None:
                run._finish()
                continue
            done += processed
            if processed:
                break
        remaining = sum(
            runs.filtered(lambda r: r.state == "running").mapped("todo_count")
        )
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        if remaining and not done:
            cron = self.env.ref(PROCESS_CRON_XMLID, raise_if_not_found=False)
            if cron:
                cron._trigger(fields.Datetime.now() + relativedelta(minutes=1))
        return done

    @api.model
    def _get_chunk_size(self):
        # sudo: ir.config_parameter - a technical setting
        value = self.env["ir.config_parameter"].sudo().get_param(CHUNK_SIZE_PARAM) or ""
        return int(value) if value.isdigit() and int(value) > 0 else DEFAULT_CHUNK_SIZE

    @api.model
    def _start(self, company, today):
        """Today's run of ``company``: one line per customer due at an
        automatic level (none when it has one already, or nothing is due)."""
        Profile = self.env["sale.reconciliation.credit.profile"].with_company(company)
        Profile._followup_release(company)
        if self.search_count([("company_id", "=", company.id), ("date", "=", today)]):
            return self
        levels = self.env["sale.reconciliation.followup.level"].search(
            [("company_id", "=", company.id), ("auto_process", "=", True)]
        )
        if not levels:
            return self
        Profile._followup_ensure_profiles(company)
        figures = Profile._followup_query(company, today)
        due = {
            pid: values["due_level_id"]
            for pid, values in figures.items()
            if values["due_level_id"] in levels.ids
        }
        profiles = Profile.search(
            [
                ("company_id", "=", company.id),
                ("partner_id", "in", list(due)),
                ("followup_excluded", "=", False),
            ],
            order="partner_id",
        )
        if not profiles:
            return self
        return self.create(
            {
                "company_id": company.id,
                "date": today,
                "line_ids": [
                    (
                        0,
                        0,
                        {
                            "profile_id": profile.id,
                            "partner_id": profile.partner_id.id,
                            "level_id": due[profile.partner_id.id],
                        },
                    )
                    for profile in profiles
                ],
            }
        )

    def _lock_todo_lines(self, limit):
        self.ensure_one()
        Line = self.env["sale.reconciliation.followup.run.line"]
        Line.flush_model(["state"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT id
                  FROM sale_reconciliation_followup_run_line
                 WHERE run_id = %s AND state = 'todo'
                 ORDER BY id
                 LIMIT %s
                   FOR UPDATE SKIP LOCKED
                """,
                self.id,
                limit,
            )
        )
        return Line.browse([row[0] for row in rows])

    def _process_chunk(self, limit):
        """Remind up to ``limit`` customers of the run, each in a savepoint:
        one that fails is rolled back alone and listed with its reason; the
        line's state moves in the same transaction as the reminder.

        :return: the number of customers processed, 0 when the open ones are
            held by another worker, None when none is left
        """
        self.ensure_one()
        lines = self._lock_todo_lines(limit)
        if not lines:
            return None if not self.todo_count else 0
        run = self.with_company(self.company_id).with_context(
            allowed_company_ids=[self.company_id.id]
        )
        prepared = lines.profile_id.with_env(run.env)._followup_prepare(self.date)
        for line in lines.with_env(run.env):
            values = prepared.get(line.profile_id)
            if not values or not values["level"].auto_process:
                line.write({"state": "skipped", "reason": _("Nothing due any more.")})
                continue
            try:
                with self.env.cr.savepoint():
                    history = line.profile_id._followup_send(
                        {line.profile_id: values}, self.date
                    )
                    line.write({"state": "sent", "history_id": history.id})
            except psycopg2.OperationalError:
                raise
            except Exception as exc:  # noqa: BLE001 - listed as the reason
                _logger.info(
                    "Follow-up run %s: %s failed: %s",
                    self.id,
                    line.partner_id.name,
                    exc,
                )
                line.write({"state": "failed", "reason": _error(exc)})
        return len(lines)

    def _finish(self):
        for run in self:
            run.state = "failed" if run.failed_count else "done"


class SaleReconciliationFollowupRunLine(models.Model):
    _name = "sale.reconciliation.followup.run.line"
    _description = "Customer of a Follow-up Run"
    _order = "run_id, id"

    run_id = fields.Many2one(
        "sale.reconciliation.followup.run",
        required=True,
        index=True,
        ondelete="cascade",
        readonly=True,
    )
    company_id = fields.Many2one(related="run_id.company_id", store=True, index=True)
    profile_id = fields.Many2one(
        "sale.reconciliation.credit.profile", required=True, readonly=True
    )
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, readonly=True
    )
    level_id = fields.Many2one(
        "sale.reconciliation.followup.level", readonly=True, ondelete="set null"
    )
    state = fields.Selection(
        selection=[
            ("todo", "To Do"),
            ("sent", "Reminded"),
            ("skipped", "Skipped"),
            ("failed", "Failed"),
        ],
        required=True,
        default="todo",
        index=True,
        readonly=True,
    )
    reason = fields.Char(readonly=True)
    history_id = fields.Many2one(
        "sale.reconciliation.followup.history", string="Reminder", readonly=True
    )
