"""Follow-up runs: the automatic reminders of a company's day, sent a chunk
of customers per transaction, each customer's state kept on its line so that
a run interrupted at any point resumes without reminding anyone twice (on
the run engine, sale_reconciliation_run_mixin.py)."""

from odoo import SUPERUSER_ID, _, api, fields, models
from odoo.exceptions import AccessError

from .reconciliation_access import CREDIT_MANAGER_GROUP
from .sale_reconciliation_run_mixin import RUN_GUARD

CHUNK_SIZE_PARAM = "sale_reconciliation.followup_run_chunk_size"
DEFAULT_CHUNK_SIZE = 50
PROCESS_CRON_XMLID = "sale_reconciliation.ir_cron_process_followups"


class SaleReconciliationFollowupRun(models.Model):
    _name = "sale.reconciliation.followup.run"
    _description = "Follow-up Run"
    _inherit = ["sale.reconciliation.run.mixin"]
    _order = "date desc, id desc"
    _check_company_auto = True

    _run_line_model = "sale.reconciliation.followup.run.line"
    _run_process_cron = PROCESS_CRON_XMLID
    _run_chunk_size_param = CHUNK_SIZE_PARAM
    _run_default_chunk_size = DEFAULT_CHUNK_SIZE

    # Runs and their lines are written by the scheduled action only (as
    # superuser); credit managers read them, and may cancel a running one.
    company_id = fields.Many2one(
        "res.company", required=True, index=True, readonly=True
    )
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
        counts = self._get_line_counts()
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
            run_model._start(company, today)._schedule_processing()
        return run_model._cron_process_runs()

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
        run = RUN_GUARD.allow(self).create(
            {
                "company_id": company.id,
                "date": today,
                "started_date": fields.Datetime.now(),
                "processed_by_id": SUPERUSER_ID,
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
        return run.with_env(self.env)

    # -------------------------------------------------------------------------
    # PROCESSING (the run engine's hooks)
    # -------------------------------------------------------------------------

    @api.model
    def _get_initial_state(self):
        return "running"

    def _check_run_manager(self, what):
        if not (self.env.su or self.env.user.has_group(CREDIT_MANAGER_GROUP)):
            raise AccessError(_("Only credit managers may %(what)s.", what=what))

    def _process_lines(self, lines):
        """Remind these customers, each in a savepoint: one that fails is
        rolled back alone and listed with its reason; the line's state
        moves in the same transaction as the reminder."""
        prepared = lines.profile_id._followup_prepare(self.date)

        def remind(line):
            values = prepared.get(line.profile_id)
            if not values or not values["level"].auto_process:
                line._write_line(
                    {"state": "skipped", "reason": _("Nothing due any more.")}
                )
                return
            history = line.profile_id._followup_send(
                {line.profile_id: values}, self.date
            )
            line._write_line({"state": "sent", "history_id": history.id})

        return self._process_each_line(lines, remind, "Follow-up run")


class SaleReconciliationFollowupRunLine(models.Model):
    _name = "sale.reconciliation.followup.run.line"
    _description = "Customer of a Follow-up Run"
    _inherit = ["sale.reconciliation.run.line.mixin"]
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
    history_id = fields.Many2one(
        "sale.reconciliation.followup.history", string="Reminder", readonly=True
    )
