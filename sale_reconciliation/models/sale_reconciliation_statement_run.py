"""Statement runs: the statements of many customers generated, confirmed and
sent in chunks, each chunk its own transaction, resumable at any point (on
the run engine, sale_reconciliation_run_mixin.py)."""

import logging

from dateutil.relativedelta import relativedelta

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from .reconciliation_access import MANAGER_GROUP, check_reconciliation_manager
from .sale_reconciliation_run_mixin import (
    RUN_ENGINE_FIELDS,
    is_concurrency_error,
)
from .sale_reconciliation_statement import STATEMENT_LOCK_KEY

_logger = logging.getLogger(__name__)

# Fields only the run's actions and processing write.
RUN_FIELDS = RUN_ENGINE_FIELDS
# What a run is about: fixed once started.
RUN_SCOPE_FIELDS = {
    "company_id",
    "date_from",
    "date_to",
    "customer_scope",
    "user_ids",
    "category_ids",
    "partner_ids",
    "statement_type",
    "operation",
    "use_statement_frequency",
}
CHUNK_SIZE_PARAM = "sale_reconciliation.statement_run_chunk_size"
# Rendering a statement's PDF costs about a second (one wkhtmltopdf call):
# 20 customers keep a confirm-and-send chunk well under Odoo's default
# 120 s worker limit, at about 30 s on a loaded two-core machine.
DEFAULT_CHUNK_SIZE = 20
PROCESS_CRON_XMLID = "sale_reconciliation.ir_cron_process_statement_runs"
# Generating statements is quick next to rendering and sending them, and
# the generation chunks of a company go one after the other: a job of
# generation takes this many chunks, and jumps the queue (queue_job's
# default priority is 10), so that the workers sending statements never
# wait for the statements to send.
GENERATION_CHUNKS_PER_JOB = 2
GENERATION_PRIORITY = 5
# Where a customer of the run still has something to do, per operation.
OPEN_LINE_STATES = {
    "generate": ("todo",),
    "confirm": ("todo", "generated"),
    "send": ("todo", "generated", "confirmed"),
}


class SaleReconciliationStatementRun(models.Model):
    _name = "sale.reconciliation.statement.run"
    _description = "Statement Run"
    _inherit = [
        "mail.thread",
        "sale.reconciliation.statement.scope.mixin",
        "sale.reconciliation.run.mixin",
    ]
    _order = "id desc"
    _check_company_auto = True

    _run_line_model = "sale.reconciliation.statement.run.line"
    _run_process_cron = PROCESS_CRON_XMLID
    _run_chunk_size_param = CHUNK_SIZE_PARAM
    _run_default_chunk_size = DEFAULT_CHUNK_SIZE

    # -------------------------------------------------------------------------
    # FIELDS
    # -------------------------------------------------------------------------

    name = fields.Char(compute="_compute_name", store=True)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
        tracking=True,
    )
    date_from = fields.Date(
        string="From",
        required=True,
        default=lambda self: self.env[
            "sale.reconciliation.statement"
        ]._default_period()[0],
        tracking=True,
    )
    date_to = fields.Date(
        string="To",
        required=True,
        default=lambda self: self.env[
            "sale.reconciliation.statement"
        ]._default_period()[1],
        tracking=True,
    )
    customer_scope = fields.Selection(
        selection=[
            ("all", "All customers with activity or an open balance"),
            ("salespeople", "Customers of these salespeople"),
            ("tags", "Customers with these tags"),
            ("selected", "These customers"),
        ],
        string="Which Customers",
        required=True,
        default="all",
    )
    user_ids = fields.Many2many(
        "res.users",
        relation="sale_reconciliation_statement_run_user_rel",
        string="Salespeople",
        domain="[('share', '=', False)]",
    )
    category_ids = fields.Many2many(
        "res.partner.category",
        relation="sale_reconciliation_statement_run_category_rel",
        string="Tags",
    )
    partner_ids = fields.Many2many(
        "res.partner",
        relation="sale_reconciliation_statement_run_partner_rel",
        string="Selected Customers",
        check_company=True,
    )
    statement_type = fields.Selection(
        selection=[("summary", "Summary"), ("detailed", "Detailed")],
        string="Type",
        required=True,
        default=lambda self: self.env.company.statement_default_type,
    )
    operation = fields.Selection(
        selection=[
            ("generate", "Generate"),
            ("confirm", "Generate and confirm"),
            ("send", "Generate, confirm and send"),
        ],
        string="What to Do",
        required=True,
        default="generate",
        tracking=True,
    )
    use_statement_frequency = fields.Boolean(
        string="Follow Customers' Frequency",
        help="Leave out the customers whose statements are never sent, and "
        "those with quarterly statements unless the period ends a quarter; "
        "these get a statement of the whole quarter.",
    )
    state = fields.Selection(
        selection=[
            ("draft", "Draft"),
            ("running", "Running"),
            ("done", "Done"),
            ("failed", "Failed"),
            ("cancel", "Cancelled"),
        ],
        required=True,
        default="draft",
        index=True,
        copy=False,
        readonly=True,
        tracking=True,
        help="Failed: the run went through every customer, and some failed "
        "(they are listed with the reason), or it stopped on an error. "
        "Cancelled: stopped by a reconciliation manager; what was done stays "
        "done.",
    )
    line_ids = fields.One2many(
        "sale.reconciliation.statement.run.line",
        string="Customers Processed",
        copy=False,
    )
    failed_line_ids = fields.One2many(
        "sale.reconciliation.statement.run.line",
        "run_id",
        string="Failed Customers",
        domain=[("state", "=", "failed")],
        readonly=True,
    )
    statement_ids = fields.One2many(
        "sale.reconciliation.statement", "run_id", string="Statements", readonly=True
    )
    customer_count = fields.Integer(string="Customers", compute="_compute_counts")
    generated_count = fields.Integer(
        string="Generated",
        compute="_compute_counts",
        help="Customers whose statements were generated, whatever happened next.",
    )
    confirmed_count = fields.Integer(string="Confirmed", compute="_compute_counts")
    sent_count = fields.Integer(string="Sent", compute="_compute_counts")
    skipped_count = fields.Integer(string="Skipped", compute="_compute_counts")
    statement_count = fields.Integer(compute="_compute_statement_count")

    # -------------------------------------------------------------------------
    # COMPUTE METHODS
    # -------------------------------------------------------------------------

    @api.depends("company_id", "date_from", "date_to")
    def _compute_name(self):
        for run in self:
            run.name = _(
                "Statements of %(company)s, %(date_from)s to %(date_to)s",
                company=run.company_id.name or "",
                date_from=run.date_from or "",
                date_to=run.date_to or "",
            )

    # OVERRIDES the run engine's counts: a customer whose statements were
    # sent was generated and confirmed too.
    @api.depends("line_ids.state")
    def _compute_counts(self):
        counts = self._get_line_counts()
        for run in self:
            by_state = counts.get(run.id, {})
            total = sum(by_state.values())
            sent = by_state.get("sent", 0)
            confirmed = by_state.get("confirmed", 0) + sent
            generated = by_state.get("generated", 0) + confirmed
            run.customer_count = total
            run.sent_count = sent
            run.confirmed_count = confirmed
            run.generated_count = generated
            run.skipped_count = by_state.get("skipped", 0)
            run.failed_count = by_state.get("failed", 0)

    @api.depends("line_ids.state", "state", "operation")
    def _compute_progress(self):
        return super()._compute_progress()

    @api.depends("statement_ids")
    def _compute_statement_count(self):
        counts = dict(
            self.env["sale.reconciliation.statement"]._read_group(
                [("run_id", "in", self.ids)], ["run_id"], ["__count"]
            )
        )
        for run in self:
            run.statement_count = counts.get(run, 0)

    # -------------------------------------------------------------------------
    # CONSTRAINTS
    # -------------------------------------------------------------------------

    @api.constrains("date_from", "date_to")
    def _check_dates(self):
        for run in self:
            if run.date_from > run.date_to:
                raise ValidationError(
                    _(
                        "The period starts on %(date_from)s, after it ends on "
                        "%(date_to)s.",
                        date_from=run.date_from,
                        date_to=run.date_to,
                    )
                )

    # -------------------------------------------------------------------------
    # CRUD
    # -------------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        # EXTENDS the run engine, which refuses the workflow fields.
        check_reconciliation_manager(self.env, _("prepare statement runs"))
        return super().create(vals_list)

    def write(self, vals):
        # EXTENDS the run engine, which refuses the workflow fields.
        if RUN_SCOPE_FIELDS.intersection(vals) and self.filtered(
            lambda r: r.state != "draft"
        ):
            raise UserError(
                _("A started statement run keeps its company, period and customers.")
            )
        return super().write(vals)

    # -------------------------------------------------------------------------
    # ACTIONS
    # -------------------------------------------------------------------------

    def action_start(self):
        """Choose the customers and hand the run to the scheduled action (or
        the job queue), which processes it chunk by chunk."""
        check_reconciliation_manager(self.env, _("start statement runs"))
        for run in self:
            run._check_can_start()
            lines = run._prepare_line_vals()
            run._write_run(
                {
                    "state": "running",
                    "started_by_id": self.env.uid,
                    "processed_by_id": self.env.uid,
                    "started_date": fields.Datetime.now(),
                    "line_ids": [Command.create(vals) for vals in lines],
                }
            )
            run.message_post(
                body=_(
                    "Run started for %(count)s customers.",
                    count=len(lines),
                )
            )
        self._schedule_processing()
        return True

    def action_open_statements(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Statements of the Run"),
            "res_model": "sale.reconciliation.statement",
            "view_mode": "list,form",
            "domain": [("run_id", "=", self.id)],
        }

    # -------------------------------------------------------------------------
    # STARTING
    # -------------------------------------------------------------------------

    def _check_can_start(self):
        self.ensure_one()
        if self.state != "draft":
            raise UserError(_("Only a draft statement run can be started."))
        company = self.company_id
        if company.statement_review_required and self.operation != "generate":
            raise UserError(
                _(
                    "Statements of %(company)s must be reviewed by another user: "
                    "a run can only generate them.",
                    company=company.name,
                )
            )
        period = self.env["sale.reconciliation.period"]._find_closed_periods(
            company, self.date_from, self.date_to
        )(company, self.date_from, self.date_to)
        if period:
            raise UserError(
                _(
                    "The sales period %(period)s is closed: no statement can be "
                    "made in it.",
                    period=period.name,
                )
            )

    def _get_scope_partners(self):
        """The customers (commercial partners) the run is for."""
        self.ensure_one()
        partners = self._get_requested_partners()
        if partners is None:
            return self.env["sale.reconciliation.statement"]._find_statement_customers(
                self.company_id, self.date_from, self.date_to
            )
        return partners.commercial_partner_id

    def _prepare_line_vals(self):
        """One line per customer: to do, or skipped by its frequency."""
        self.ensure_one()
        quarter_end = self.date_to.month % 3 == 0
        quarter_start = self.date_to.replace(day=1) - relativedelta(months=2)
        vals_list = []
        for partner in self._get_scope_partners().sorted("id"):
            vals = {
                "partner_id": partner.id,
                "date_from": self.date_from,
                "state": "todo",
            }
            frequency = partner.statement_frequency or "monthly"
            if self.use_statement_frequency and frequency == "never":
                vals.update(
                    state="skipped",
                    reason=_("The customer gets no statements."),
                )
            elif self.use_statement_frequency and frequency == "quarterly":
                if quarter_end:
                    vals["date_from"] = min(self.date_from, quarter_start)
                else:
                    vals.update(
                        state="skipped",
                        reason=_(
                            "Quarterly statements: the period does not end a "
                            "quarter."
                        ),
                    )
            vals_list.append(vals)
        return vals_list

    # -------------------------------------------------------------------------
    # PROCESSING (the run engine's hooks)
    # -------------------------------------------------------------------------

    def _get_open_line_states(self):
        return OPEN_LINE_STATES[self.operation or "generate"]

    def _check_run_manager(self, what):
        check_reconciliation_manager(self.env, what)

    def _may_process_as(self, user):
        """The starter while they are an active reconciliation manager of
        the run's company."""
        return (
            user.active
            and self.company_id in user.company_ids
            and user.has_group(MANAGER_GROUP)
        )

    def _plan_chunks(self):
        """The generation chunks one after the other (statements of a
        company are made by one transaction at a time), each followed by the
        chunks confirming and sending what it generated, side by side with
        the next generation chunk: every worker has work from the first
        chunk on. Generation goes first whenever a worker is free."""
        self.ensure_one()
        size = self._get_chunk_size()
        lines = self._get_open_lines()
        todo = lines.filtered(lambda line: line.state == "todo")
        plan = []

        def advance(chunk_lines, after):
            if self.operation == "generate":
                return
            for start in range(0, len(chunk_lines), size):
                plan.append(
                    {
                        "line_ids": chunk_lines[start : start + size].ids,
                        "states": None,
                        "after": after,
                        "priority": None,
                        "label": _("confirm, send"),
                    }
                )

        # Generated by an earlier run of the plan: nothing to wait for.
        advance(lines - todo, None)
        generation_size = size * GENERATION_CHUNKS_PER_JOB
        previous = None
        for start in range(0, len(todo), generation_size):
            chunk_lines = todo[start : start + generation_size]
            plan.append(
                {
                    "line_ids": chunk_lines.ids,
                    "states": ["todo"],
                    "after": previous,
                    "priority": GENERATION_PRIORITY,
                    "label": _("generate"),
                }
            )
            previous = len(plan) - 1
            advance(chunk_lines, previous)
        return plan

    def _process_lines(self, lines):
        """Generate the statements of the customers still to do, or else
        confirm and send those of the others."""
        todo = lines.filtered(lambda line: line.state == "todo")
        if todo:
            return self._generate_lines(todo)
        return self._process_each_line(
            lines, lambda line: line._advance(), "Statement run"
        )

    def _generate_lines(self, lines):
        """Generate the statements of these customers, in one batch per
        period start; a batch refused is done again customer by customer,
        so that the refused ones fail and the others go on."""
        [[free]] = self.env.execute_query(
            SQL(
                "SELECT pg_try_advisory_xact_lock(%s, %s)",
                STATEMENT_LOCK_KEY,
                self.company_id.id,
            )
        )
        if not free:
            return 0
        for batch in lines.grouped("date_from").values():
            try:
                with self.env.cr.savepoint():
                    self._generate_batch(batch)
            except Exception as exc:  # noqa: BLE001 - done again line by line
                if is_concurrency_error(exc):
                    raise
                self._process_each_line(batch, self._generate_batch, "Statement run")
        return len(lines)

    def _generate_batch(self, lines):
        statements, skipped = self.env[
            "sale.reconciliation.statement"
        ]._generate_statements(
            lines[0].date_from,
            self.date_to,
            statement_type=self.statement_type,
            partners=lines.partner_id,
            company=self.company_id,
            run=self,
        )
        made = statements.grouped("partner_id")
        reasons = {}
        for partner, currency, reason in skipped:
            reasons.setdefault(partner.id, []).append(
                _("%(currency)s: %(reason)s", currency=currency.name, reason=reason)
            )
        for line in lines:
            text = "; ".join(reasons.get(line.partner_id.id, [])) or False
            if made.get(line.partner_id):
                line._write_line({"state": "generated", "reason": text})
            else:
                line._write_line({"state": "skipped", "reason": text})

    def _on_finish(self):
        self.ensure_one()
        self.message_post(
            body=_(
                "Run finished: %(generated)s generated, %(confirmed)s "
                "confirmed, %(sent)s sent, %(skipped)s skipped, %(failed)s "
                "failed.",
                generated=self.generated_count,
                confirmed=self.confirmed_count,
                sent=self.sent_count,
                skipped=self.skipped_count,
                failed=self.failed_count,
            )
        )
