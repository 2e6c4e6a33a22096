"""Statement runs: the statements of many customers generated, confirmed and
sent in chunks, each chunk its own transaction, resumable at any point."""

import logging

import psycopg2
from dateutil.relativedelta import relativedelta

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from .reconciliation_access import check_reconciliation_manager, with_context_defaults
from .sale_reconciliation_statement import STATEMENT_LOCK_KEY

_logger = logging.getLogger(__name__)

# The run's own writes (state, customers, where each stands) carry this
# object in their context: a JSON-RPC client can set any context key, never
# to this object.
RUN_KEY = "sale_reconciliation_statement_run"
RUN_TOKEN = object()
# Fields only the run's actions and processing write.
RUN_FIELDS = {"state", "started_by_id", "started_date", "finished_date", "line_ids"}
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
# Where a customer of the run still has something to do, per operation.
OPEN_LINE_STATES = {
    "generate": ("todo",),
    "confirm": ("todo", "generated"),
    "send": ("todo", "generated", "confirmed"),
}


class SaleReconciliationStatementRun(models.Model):
    _name = "sale.reconciliation.statement.run"
    _description = "Statement Run"
    _inherit = ["mail.thread", "sale.reconciliation.statement.scope.mixin"]
    _order = "id desc"
    _check_company_auto = True

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
        ],
        required=True,
        default="draft",
        index=True,
        copy=False,
        readonly=True,
        tracking=True,
        help="Failed: the run went through every customer, and some failed; "
        "they are listed with the reason.",
    )
    started_by_id = fields.Many2one(
        "res.users",
        readonly=True,
        copy=False,
        help="The run makes the statements with this user's rights.",
    )
    started_date = fields.Datetime(readonly=True, copy=False)
    finished_date = fields.Datetime(readonly=True, copy=False)
    line_ids = fields.One2many(
        "sale.reconciliation.statement.run.line",
        "run_id",
        string="Customers Processed",
        readonly=True,
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
    failed_count = fields.Integer(string="Failed", compute="_compute_counts")
    progress = fields.Float(
        compute="_compute_counts",
        help="Share of the customers the run has finished with.",
    )
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

    # Counted on the fly rather than stored: workers processing chunks of a
    # run at once then never write its row.
    @api.depends("line_ids.state", "operation")
    def _compute_counts(self):
        counts = {}
        for run, state, count in self.env[
            "sale.reconciliation.statement.run.line"
        ]._read_group([("run_id", "in", self.ids)], ["run_id", "state"], ["__count"]):
            counts.setdefault(run.id, {})[state] = count
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
            open_count = sum(
                by_state.get(state, 0)
                for state in OPEN_LINE_STATES[run.operation or "generate"]
            )
            run.progress = (
                100.0 * (total - open_count) / total
                if total
                else (100.0 if run.state in ("done", "failed") else 0.0)
            )

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
        check_reconciliation_manager(self.env, _("prepare statement runs"))
        for vals in vals_list:
            seen = with_context_defaults(self, vals, RUN_FIELDS)
            given = {
                fname
                for fname in RUN_FIELDS & set(seen)
                if seen[fname] and not (fname == "state" and seen[fname] == "draft")
            }
            if given and not self._is_run_write():
                raise UserError(
                    _(
                        "A statement run starts as a draft: its state and "
                        "customers are set when it is started."
                    )
                )
        return super().create(vals_list)

    def write(self, vals):
        fnames = set(vals)
        if fnames & RUN_FIELDS and not self._is_run_write():
            raise UserError(
                _(
                    "The state and the customers of a statement run change only "
                    "through the run itself (start it, it does the rest)."
                )
            )
        if fnames & RUN_SCOPE_FIELDS and self.filtered(lambda r: r.state != "draft"):
            raise UserError(
                _("A started statement run keeps its company, period and customers.")
            )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_running(self):
        if self.filtered(lambda run: run.state == "running"):
            raise UserError(_("A running statement run cannot be deleted."))

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

    def _schedule_processing(self):
        """Wake the scheduled action that processes running runs. The
        sale_reconciliation_queue add-on makes jobs of the chunks instead."""
        cron = self.env.ref(PROCESS_CRON_XMLID, raise_if_not_found=False)
        if cron:
            cron._trigger()

    # -------------------------------------------------------------------------
    # PROCESSING
    # -------------------------------------------------------------------------

    @api.model
    def _get_chunk_size(self):
        # sudo: ir.config_parameter - a technical setting every run reads
        value = self.env["ir.config_parameter"].sudo().get_param(CHUNK_SIZE_PARAM) or ""
        return int(value) if value.isdigit() and int(value) > 0 else DEFAULT_CHUNK_SIZE

    @api.model
    def _cron_process_runs(self):
        """One chunk of the running runs per call, in its own transaction:
        Odoo's scheduled action calls again at once while some remain."""
        runs = self.search([("state", "=", "running")], order="id")
        done = 0
        for run in runs:
            processed = run._process_chunk(self._get_chunk_size())
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
            # Every open customer is held by another worker or transaction:
            # look again in a minute rather than at the next interval.
            cron = self.env.ref(PROCESS_CRON_XMLID, raise_if_not_found=False)
            if cron:
                cron._trigger(fields.Datetime.now() + relativedelta(minutes=1))
        return done

    @api.model
    def _count_open_lines(self, runs, line_ids=None, states=None):
        """Customers of these runs (of ``line_ids`` only, when given; in
        ``states`` only, when given) with something left to do."""
        if not runs:
            return 0
        self.env["sale.reconciliation.statement.run.line"].flush_model(["state"])
        [[count]] = self.env.execute_query(
            SQL(
                """
                SELECT COUNT(*)
                  FROM sale_reconciliation_statement_run_line line
                  JOIN sale_reconciliation_statement_run run ON run.id = line.run_id
                 WHERE line.run_id = ANY(%s)
                   AND (%s::int[] IS NULL OR line.id = ANY(%s::int[]))
                   AND (%s::varchar[] IS NULL OR line.state = ANY(%s::varchar[]))
                   AND (line.state = 'todo'
                        OR (line.state = 'generated' AND run.operation != 'generate')
                        OR (line.state = 'confirmed' AND run.operation = 'send'))
                """,
                runs.ids,
                line_ids,
                line_ids,
                states and list(states),
                states and list(states),
            )
        )
        return count

    def _lock_open_lines(self, limit, line_ids=None, states=None):
        """Up to ``limit`` customers of this run with something left to do
        (in ``states`` only, when given), locked for this transaction; those
        another worker holds are left to it. The ones to generate come
        first."""
        self.ensure_one()
        Line = self.env["sale.reconciliation.statement.run.line"]
        Line.flush_model(["state"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT id
                  FROM sale_reconciliation_statement_run_line
                 WHERE run_id = %s
                   AND state = ANY(%s)
                   AND (%s::int[] IS NULL OR id = ANY(%s::int[]))
                 ORDER BY state = 'todo' DESC, id
                 LIMIT %s
                   FOR UPDATE SKIP LOCKED
                """,
                self.id,
                list(states or OPEN_LINE_STATES[self.operation]),
                line_ids,
                line_ids,
                limit,
            )
        )
        return Line.browse([row[0] for row in rows])

    def _process_chunk(self, limit, line_ids=None, generate_only=False):
        """Process up to ``limit`` open customers of the run (of
        ``line_ids`` only, when given), with the rights of who started it.
        With ``generate_only``, only customers whose statements are still to
        generate: confirming and sending is left to other transactions,
        which may work side by side.

        :return: the number of customers processed (0 when the open ones
            are held by another worker, or statements of the company are
            being made by another transaction), or None when none is left
        """
        self.ensure_one()
        run = self.with_user(self.started_by_id or self.env.user).with_company(
            self.company_id
        )
        run = run.with_context(allowed_company_ids=[self.company_id.id])
        states = ("todo",) if generate_only else None
        lines = run._lock_open_lines(limit, line_ids, states=states)
        if not lines:
            left = self._count_open_lines(self, line_ids, states=states)
            return 0 if left else None
        todo = lines.filtered(lambda line: line.state == "todo")
        if todo:
            return run._generate_lines(todo)
        run._advance_lines(lines)
        return len(lines)

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
            except (UserError, ValidationError, psycopg2.IntegrityError):
                for line in batch:
                    try:
                        with self.env.cr.savepoint():
                            self._generate_batch(line)
                    except (
                        UserError,
                        ValidationError,
                        psycopg2.IntegrityError,
                    ) as exc:
                        line._write_line({"state": "failed", "reason": _error(exc)})
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

    def _advance_lines(self, lines):
        """Confirm and send the statements of these customers, each customer
        in a savepoint: one that fails is rolled back alone and listed with
        its reason."""
        for line in lines:
            try:
                with self.env.cr.savepoint():
                    line.with_env(self.env)._advance()
            except psycopg2.OperationalError:
                # A concurrent update or a lock timeout: the whole chunk is
                # done again later, not this customer marked failed.
                raise
            except Exception as exc:  # noqa: BLE001 - listed as the reason
                _logger.info(
                    "Statement run %s: %s failed: %s",
                    self.id,
                    line.partner_id.name,
                    exc,
                )
                line._write_line({"state": "failed", "reason": _error(exc)})

    def _finish(self):
        for run in self:
            run._write_run(
                {
                    "state": "failed" if run.failed_count else "done",
                    "finished_date": fields.Datetime.now(),
                }
            )
            run.message_post(
                body=_(
                    "Run finished: %(generated)s generated, %(confirmed)s "
                    "confirmed, %(sent)s sent, %(skipped)s skipped, %(failed)s "
                    "failed.",
                    generated=run.generated_count,
                    confirmed=run.confirmed_count,
                    sent=run.sent_count,
                    skipped=run.skipped_count,
                    failed=run.failed_count,
                )
            )

    def _write_run(self, vals):
        return self.with_context(**{RUN_KEY: RUN_TOKEN}).write(vals)

    def _is_run_write(self):
        return self.env.context.get(RUN_KEY) is RUN_TOKEN


def _error(exc):
    """The message of an error, as the user reads it."""
    return str(exc.args[0] if exc.args else exc)[:500]
