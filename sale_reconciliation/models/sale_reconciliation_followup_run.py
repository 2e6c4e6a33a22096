"""Follow-up runs: the automatic reminders of a company's day, sent a chunk
of customers per transaction, each customer's state kept on its line so that
a run interrupted at any point resumes without reminding anyone twice (on
the run engine, sale_reconciliation_run_mixin.py)."""

from odoo import _, api, fields, models

CHUNK_SIZE_PARAM = "sale_reconciliation.followup_run_chunk_size"
DEFAULT_CHUNK_SIZE = 50
PROCESS_CRON_XMLID = "sale_reconciliation.ir_cron_process_followups"


class SaleReconciliationFollowupRun(models.Model):
    _name = "sale.reconciliation.followup.run"
    _description = "Follow-up Run"
    _inherit = ["sale.reconciliation.daily.run.mixin"]

    _run_line_model = "sale.reconciliation.followup.run.line"
    _run_process_cron = PROCESS_CRON_XMLID
    _run_chunk_size_param = CHUNK_SIZE_PARAM
    _run_default_chunk_size = DEFAULT_CHUNK_SIZE
    _run_count_fields = {
        "sent_count": "sent",
        "failed_count": "failed",
        "todo_count": "todo",
    }

    line_ids = fields.One2many("sale.reconciliation.followup.run.line")
    sent_count = fields.Integer(string="Reminded", compute="_compute_counts")

    _sql_constraints = [
        (
            "company_date_uniq",
            "UNIQUE(company_id, date)",
            "A company has one follow-up run a day.",
        ),
    ]

    # -------------------------------------------------------------------------
    # SCHEDULED ACTION
    # -------------------------------------------------------------------------

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
        return self._create_run(
            company,
            today,
            [
                {
                    "profile_id": profile.id,
                    "partner_id": profile.partner_id.id,
                    "level_id": due[profile.partner_id.id],
                }
                for profile in profiles
            ],
        )

    # -------------------------------------------------------------------------
    # PROCESSING (the run engine's hooks)
    # -------------------------------------------------------------------------

    def _get_run_title(self, company_name, date):
        return _(
            "Follow-up of %(company)s on %(date)s", company=company_name, date=date
        )

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

    run_id = fields.Many2one("sale.reconciliation.followup.run")
    profile_id = fields.Many2one(
        "sale.reconciliation.credit.profile", required=True, readonly=True
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
        ]
    )
    history_id = fields.Many2one(
        "sale.reconciliation.followup.history", string="Reminder", readonly=True
    )
