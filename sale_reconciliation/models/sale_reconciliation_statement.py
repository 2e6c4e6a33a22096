"""Customer statements (对账单): what a statement is and what may change it."""

import logging

from psycopg2.errors import UniqueViolation

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from .reconciliation_access import MANAGER_GROUP, WorkflowGuard, given_fields

_logger = logging.getLogger(__name__)

# First key of the advisory lock taken while statements of a company are
# made (the second key is the company's id).
STATEMENT_LOCK_KEY = 5_210_119

# The database's last guard against two live statements of the same customer,
# currency and period made at once (see init()).
LIVE_SCOPE_INDEX = "sale_reconciliation_statement_live_scope_uniq"
LIVE_SCOPE_FIELDS = ("company_id", "partner_id", "currency_id", "date_from", "date_to")

# What a statement says: read from the ledger, frozen from confirmation on.
LEDGER_FIELDS = {
    "opening_balance",
    "total_debit",
    "total_credit",
    "closing_balance",
    "overdue_amount",
    "aging_ids",
    "line_ids",
}
# Where the statement is in its workflow, and the evidence of each step:
# written by the action methods only.
WORKFLOW_FIELDS = {
    "name",
    "state",
    "confirmed_by_id",
    "confirmed_date",
    "sent_date",
    "dispute_reason",
    "accepted_date",
    "disputed_date",
    "accepted_by",
    "signature",
    "answer_channel",
    "answer_recorded_by_id",
    "content_hash",
    "seal_number",
    "revised_from_id",
    "run_id",
    "access_token",
}
# What the statement is about: fixed once it leaves draft.
SCOPE_FIELDS = {
    "partner_id",
    "company_id",
    "currency_id",
    "date_from",
    "date_to",
    "statement_type",
}
# Fields an accepted statement still lets the chatter and the portal write.
WRITABLE_WHEN_ACCEPTED_PREFIXES = ("message_", "activity_", "website_message_")
WRITABLE_WHEN_ACCEPTED = {"access_token"}

# The workflow's own writes (statements and their lines) pass this guard.
WORKFLOW_GUARD = WorkflowGuard("sale_reconciliation_statement_workflow")


class SaleReconciliationStatement(models.Model):
    _name = "sale.reconciliation.statement"
    _description = "Customer Statement"
    _inherit = ["mail.thread", "mail.activity.mixin", "portal.mixin"]
    _order = "date_to desc, id desc"
    _check_company_auto = True
    _sql_constraints = [
        (
            "name_company_uniq",
            "UNIQUE(company_id, name)",
            "A statement number is used once per company.",
        ),
        (
            "seal_number_company_uniq",
            "UNIQUE(company_id, seal_number)",
            "A seal number is used once per company.",
        ),
    ]

    # -------------------------------------------------------------------------
    # FIELDS
    # -------------------------------------------------------------------------

    name = fields.Char(
        string="Number", required=True, readonly=True, copy=False, default="/"
    )
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        readonly=True,
        default=lambda self: self.env.company,
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        tracking=True,
        check_company=True,
        domain="[('is_company', '=', True)]",
    )
    currency_id = fields.Many2one(
        "res.currency",
        required=True,
        default=lambda self: self.env.company.currency_id,
    )
    date_from = fields.Date(string="From", required=True, tracking=True)
    date_to = fields.Date(string="To", required=True, tracking=True)
    user_id = fields.Many2one(
        "res.users",
        string="Responsible",
        index=True,
        tracking=True,
        domain="[('share', '=', False)]",
        help="Prepares the statement and follows up the customer's answer; by "
        "default the customer's salesperson.",
    )
    statement_type = fields.Selection(
        selection=[("summary", "Summary"), ("detailed", "Detailed")],
        string="Type",
        required=True,
        default=lambda self: self.env.company.statement_default_type,
        help="A detailed statement also lists, under each invoice and credit "
        "note, its goods with the quantities delivered.",
    )
    state = fields.Selection(
        selection=[
            ("draft", "Draft"),
            ("confirmed", "Confirmed"),
            ("sent", "Sent"),
            ("accepted", "Accepted"),
            ("disputed", "Disputed"),
            ("cancel", "Cancelled"),
        ],
        required=True,
        default="draft",
        index=True,
        copy=False,
        tracking=True,
    )
    line_ids = fields.One2many(
        "sale.reconciliation.statement.line",
        "statement_id",
        string="Lines",
        copy=False,
    )
    opening_balance = fields.Monetary(readonly=True, copy=False)
    total_debit = fields.Monetary(string="Debit", readonly=True, copy=False)
    total_credit = fields.Monetary(string="Credit", readonly=True, copy=False)
    closing_balance = fields.Monetary(readonly=True, copy=False)
    overdue_amount = fields.Monetary(
        readonly=True,
        copy=False,
        help="What the customer owes past its due date at the end of the period.",
    )

    confirmed_by_id = fields.Many2one("res.users", readonly=True, copy=False)
    confirmed_date = fields.Datetime(readonly=True, copy=False)
    sent_date = fields.Datetime(readonly=True, copy=False)
    dispute_reason = fields.Text(readonly=True, copy=False, tracking=True)
    accepted_date = fields.Datetime(readonly=True, copy=False)
    disputed_date = fields.Datetime(readonly=True, copy=False)
    accepted_by = fields.Char(
        readonly=True,
        copy=False,
        tracking=True,
        help="The name the customer signed the confirmation with.",
    )
    signature = fields.Image(
        copy=False,
        # In the statement's own row, so that only the statement's write(),
        # never an attachment's, changes it.
        attachment=False,
        max_width=1024,
        max_height=1024,
        help="The signature the customer drew, or generated from their name, "
        "when confirming the statement online.",
    )
    answer_channel = fields.Selection(
        selection=[
            ("portal", "Customer Portal"),
            ("backoffice", "Recorded by Us"),
        ],
        string="Answered Through",
        readonly=True,
        copy=False,
        help="Customer Portal: the customer answered online. Recorded by Us: a "
        "reconciliation manager recorded the answer the customer gave.",
    )
    answer_recorded_by_id = fields.Many2one(
        "res.users",
        readonly=True,
        copy=False,
        help="The user who recorded the customer's answer in the back office.",
    )
    dispute_line_count = fields.Integer(
        string="Lines Disputed",
        compute="_compute_dispute_line_count",
        help="Lines the customer commented on when disputing the statement.",
    )
    content_hash = fields.Char(
        readonly=True,
        copy=False,
        help="SHA-256 of what the customer accepted (lines, totals, who, when, "
        "signature), chained to the previous accepted statement of the company.",
    )
    seal_number = fields.Integer(
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="Place of this accepted statement in its company's chain of seals.",
    )
    revised_from_id = fields.Many2one(
        "sale.reconciliation.statement",
        string="Revision Of",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The statement this one replaces: disputed by the customer, or "
        "out of date with the ledger.",
    )
    run_id = fields.Many2one(
        "sale.reconciliation.statement.run",
        string="Statement Run",
        readonly=True,
        copy=False,
        index="btree_not_null",
        ondelete="set null",
        help="The statement run that made this statement.",
    )
    revision_ids = fields.One2many(
        "sale.reconciliation.statement", "revised_from_id", string="Revisions"
    )

    ledger_closing_balance = fields.Monetary(
        string="Closing Balance in the Ledger",
        compute="_compute_ledger_check",
        help="The closing balance as the ledger has it now.",
    )
    ledger_difference = fields.Monetary(
        compute="_compute_ledger_check",
        help="Ledger now less the statement's closing balance.",
    )
    ledger_changed = fields.Boolean(
        compute="_compute_ledger_check",
        help="The customer's ledger for this period changed after the statement "
        "was read from it: the statement no longer matches it. A draft is read "
        "again when confirmed; a confirmed statement cannot be sent before it "
        "is revised.",
    )
    entry_count = fields.Integer(
        string="Entries", compute="_compute_entry_count", store=True
    )

    # -------------------------------------------------------------------------
    # COMPUTE METHODS
    # -------------------------------------------------------------------------

    def _compute_access_url(self):
        result = super()._compute_access_url()
        for statement in self:
            statement.access_url = f"/my/statements/{statement.id}"
        return result

    @api.depends("line_ids.display_type")
    def _compute_entry_count(self):
        counts = dict(
            self.env["sale.reconciliation.statement.line"]._read_group(
                [("statement_id", "in", self.ids), ("display_type", "=", "entry")],
                ["statement_id"],
                ["__count"],
            )
        )
        for statement in self:
            statement.entry_count = counts.get(statement, 0)

    @api.depends("line_ids.dispute_comment")
    def _compute_dispute_line_count(self):
        for statement in self:
            statement.dispute_line_count = len(
                statement.line_ids.filtered("dispute_comment")
            )

    @api.depends(
        "state", "closing_balance", "total_debit", "total_credit", "entry_count"
    )
    def _compute_ledger_check(self):
        stored = self.filtered("id")
        totals = stored._read_ledger_totals() if stored else {}
        for statement in self:
            ledger = totals.get(statement.id)
            if not ledger:
                statement.ledger_closing_balance = statement.closing_balance
                statement.ledger_difference = 0.0
                statement.ledger_changed = False
                continue
            closing = ledger["opening"] + ledger["debit"] - ledger["credit"]
            statement.ledger_closing_balance = closing
            statement.ledger_difference = closing - statement.closing_balance
            statement.ledger_changed = statement._differs_from_ledger(ledger)

    # -------------------------------------------------------------------------
    # CONSTRAINTS
    # -------------------------------------------------------------------------

    @api.constrains("date_from", "date_to")
    def _check_dates(self):
        today = fields.Date.context_today(self)
        for statement in self:
            if statement.date_from > statement.date_to:
                raise ValidationError(
                    _(
                        "The statement period starts on %(date_from)s, after it "
                        "ends on %(date_to)s.",
                        date_from=statement.date_from,
                        date_to=statement.date_to,
                    )
                )
            if statement.date_from > today:
                raise ValidationError(
                    _(
                        "The statement period starts on %(date_from)s, in the "
                        "future: a statement can only show what happened.",
                        date_from=statement.date_from,
                    )
                )

    @api.constrains("partner_id")
    def _check_partner(self):
        for statement in self:
            partner = statement.partner_id
            if partner != partner.commercial_partner_id:
                raise ValidationError(
                    _(
                        "%(partner)s is a contact of %(company)s: make the statement "
                        "for the customer company.",
                        partner=partner.display_name,
                        company=partner.commercial_partner_id.display_name,
                    )
                )

    @api.constrains(
        "partner_id", "company_id", "currency_id", "date_from", "date_to", "state"
    )
    def _check_overlap(self):
        active = self.filtered(lambda s: s.state != "cancel")
        if not active:
            return
        self.env["sale.reconciliation.statement"].flush_model(
            ["partner_id", "company_id", "currency_id", "date_from", "date_to", "state"]
        )
        rows = self.env.execute_query(
            SQL(
                """
                SELECT s.id, other.id
                  FROM sale_reconciliation_statement s
                  JOIN sale_reconciliation_statement other
                    ON other.partner_id = s.partner_id
                   AND other.company_id = s.company_id
                   AND other.currency_id = s.currency_id
                   AND other.id != s.id
                   AND other.state != 'cancel'
                   AND other.date_from <= s.date_to
                   AND other.date_to >= s.date_from
                 WHERE s.id = ANY(%s)
                 LIMIT 1
                """,
                active.ids,
            )
        )
        if rows:
            statement, other = self.browse(rows[0][0]), self.browse(rows[0][1])
            raise ValidationError(
                _(
                    "%(customer)s already has statement %(other)s for "
                    "%(other_from)s to %(other_to)s in %(currency)s, which "
                    "overlaps %(date_from)s to %(date_to)s. Cancel it first, or "
                    "choose another period.",
                    customer=statement.partner_id.display_name,
                    other=other.sudo().name,
                    other_from=other.sudo().date_from,
                    other_to=other.sudo().date_to,
                    currency=statement.currency_id.name,
                    date_from=statement.date_from,
                    date_to=statement.date_to,
                )
            )

    # -------------------------------------------------------------------------
    # CRUD
    # -------------------------------------------------------------------------

    def init(self):
        # One live statement per customer, company, currency and period: the
        # database refuses the second of two generations of the same month
        # committed at once, whatever each transaction could see.
        self.env.cr.execute(
            SQL(
                """
                SELECT 1 FROM sale_reconciliation_statement
                 WHERE state != 'cancel'
                 GROUP BY company_id, partner_id, currency_id, date_from, date_to
                HAVING COUNT(*) > 1
                 LIMIT 1
                """
            )
        )
        if self.env.cr.rowcount:
            _logger.warning(
                "Customers have two live statements of the same period: cancel "
                "one of each pair, then upgrade sale_reconciliation again to "
                "make the database refuse such pairs."
            )
            return
        self.env.cr.execute(
            SQL(
                """
                CREATE UNIQUE INDEX IF NOT EXISTS
                       sale_reconciliation_statement_live_scope_uniq
                    ON sale_reconciliation_statement
                       (company_id, partner_id, currency_id, date_from, date_to)
                 WHERE state != 'cancel'
                """
            )
        )

    @api.model_create_multi
    def create(self, vals_list):
        workflow = self._is_workflow_write()
        for vals in vals_list:
            self._check_no_workflow_values(vals, workflow)
        # Browsed together, the customers are read in one query.
        partners = self.env["res.partner"].browse(
            [vals["partner_id"] for vals in vals_list if vals.get("partner_id")]
        )
        for vals in vals_list:
            if not vals.get("user_id") and vals.get("partner_id"):
                partner = partners.browse(vals["partner_id"]).with_prefetch(
                    partners._prefetch_ids
                )
                vals["user_id"] = (
                    partner.commercial_partner_id.user_id.id or self.env.user.id
                )
        self._lock_statements_of_companies(
            self.env["res.company"].browse(
                {vals.get("company_id") or self.env.company.id for vals in vals_list}
            )
        )
        scopes = [
            self._get_live_scope(self._add_missing_default_values(dict(vals)))
            for vals in vals_list
        ]
        self._check_no_live_duplicate(scopes)
        self._assign_statement_numbers(vals_list)
        # A statement cancelled in this transaction frees its period for the
        # database's one-live-statement index only once written.
        self.flush_model(["state"])
        try:
            # Only the insert in the savepoint: what came before stays.
            with self.env.cr.savepoint(flush=False):
                statements = super(
                    SaleReconciliationStatement,
                    self.with_context(mail_create_nolog=True),
                ).create(vals_list)
        except UniqueViolation as error:
            self._raise_live_duplicate_committed(error, scopes)
        statements._check_own_customers()
        # A revision replaces a disputed statement of its period, closed or not.
        statements.filtered(lambda s: not s.revised_from_id)._check_period_open()
        statements._check_has_ledger_entries(statements._fill_from_ledger())
        return statements.with_env(self.env)

    def write(self, vals):
        fnames = set(vals)
        if fnames & (WORKFLOW_FIELDS | LEDGER_FIELDS) and not self._is_workflow_write():
            raise UserError(
                _(
                    "The state, the evidence and the figures of a statement "
                    "(%(fields)s) change only through its actions (confirm, send, "
                    "accept, dispute, revise, cancel, refresh).",
                    fields=", ".join(
                        sorted(
                            self._fields[fname]._description_string(self.env)
                            for fname in fnames & (WORKFLOW_FIELDS | LEDGER_FIELDS)
                            if fname in self._fields
                        )
                    ),
                )
            )
        self._check_writable(vals)
        if fnames & SCOPE_FIELDS:
            self._check_period_open()
        live_scopes = []
        if fnames & (set(LIVE_SCOPE_FIELDS) | {"state"}):
            # Reset to draft, or moved to another period: refuse a second live
            # statement before the database's index does.
            live_scopes = [
                self._get_live_scope({**statement._get_live_scope_vals(), **vals})
                for statement in self
                if vals.get("state", statement.state) != "cancel"
                and (statement.state == "cancel" or fnames & set(LIVE_SCOPE_FIELDS))
            ]
            self._check_no_live_duplicate(live_scopes, exclude=self)
        if live_scopes:
            try:
                with self.env.cr.savepoint(flush=False):
                    result = super().write(vals)
                    self.flush_recordset([*LIVE_SCOPE_FIELDS, "state"])
            except UniqueViolation as error:
                self._raise_live_duplicate_committed(error, live_scopes)
        else:
            result = super().write(vals)
        if fnames & SCOPE_FIELDS:
            self._check_period_open()
        if fnames & {"partner_id", "user_id"}:
            self._check_own_customers()
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_except_sent(self):
        for statement in self:
            if statement.state not in ("draft", "cancel"):
                raise UserError(
                    _(
                        "Statement %(name)s is %(state)s: only draft and cancelled "
                        "statements can be deleted.",
                        name=statement.name,
                        state=dict(
                            self._fields["state"]._description_selection(self.env)
                        )[statement.state],
                    )
                )

    # -------------------------------------------------------------------------
    # ACTIONS
    # -------------------------------------------------------------------------

    def action_export_xlsx(self):
        attachment = self._export_xlsx_attachment()
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{attachment.id}?download=true",
            "target": "download",
        }

    # -------------------------------------------------------------------------
    # BUSINESS METHODS
    # -------------------------------------------------------------------------

    def _check_state(self, allowed, what):
        state_labels = dict(self._fields["state"]._description_selection(self.env))
        for statement in self:
            if statement.state not in allowed:
                raise UserError(
                    _(
                        "Statement %(name)s is %(state)s: you cannot %(what)s.",
                        name=statement.name,
                        state=state_labels[statement.state],
                        what=what,
                    )
                )

    def _differs_from_ledger(self, ledger):
        """Whether the figures of this statement differ from ``ledger``, its
        row of ``_read_ledger_totals()``."""
        self.ensure_one()
        currency = self.currency_id
        closing = ledger["opening"] + ledger["debit"] - ledger["credit"]
        return bool(
            currency.compare_amounts(closing, self.closing_balance)
            or currency.compare_amounts(ledger["debit"], self.total_debit)
            or currency.compare_amounts(ledger["credit"], self.total_credit)
            or ledger["entries"] != self.entry_count
        )

    def _get_live_scope_vals(self):
        self.ensure_one()
        return {
            "company_id": self.company_id.id,
            "partner_id": self.partner_id.id,
            "currency_id": self.currency_id.id,
            "date_from": self.date_from,
            "date_to": self.date_to,
        }

    @api.model
    def _get_live_scope(self, vals):
        """(company, customer, currency ids, from, to) of a statement with
        these values, as the database's one-live-statement index has them."""
        return tuple(
            fields.Date.to_date(vals.get(fname))
            if fname.startswith("date_")
            else (vals.get(fname) or False)
            for fname in LIVE_SCOPE_FIELDS
        )

    @api.model
    def _check_no_live_duplicate(self, scopes, exclude=None):
        """Refuse a second statement, not cancelled, of a customer, currency
        and period (``scopes`` from ``_get_live_scope``), naming the first,
        before the database's index refuses it in its own words."""
        scopes = [scope for scope in scopes if all(scope)]
        if not scopes:
            return
        seen = set()
        for scope in scopes:
            if scope in seen:
                self._raise_live_duplicate(scope)
            seen.add(scope)
        # sudo: sale.reconciliation.statement - the statement in the way may
        # be another salesperson's; only its number is told.
        existing = self.sudo().search(
            [
                ("company_id", "in", list({scope[0] for scope in scopes})),
                ("partner_id", "in", list({scope[1] for scope in scopes})),
                ("currency_id", "in", list({scope[2] for scope in scopes})),
                ("date_from", "in", list({scope[3] for scope in scopes})),
                ("date_to", "in", list({scope[4] for scope in scopes})),
                ("state", "!=", "cancel"),
                ("id", "not in", exclude.ids if exclude else []),
            ]
        )
        names = {
            self._get_live_scope(statement._get_live_scope_vals()): statement.name
            for statement in existing
        }
        for scope in scopes:
            if scope in names:
                self._raise_live_duplicate(scope, names[scope])

    @api.model
    def _raise_live_duplicate_committed(self, error, scopes):
        """The database's index refused a statement: another transaction made
        the same one and committed while this one ran. Name it, as
        ``_check_no_live_duplicate`` would have."""
        if error.diag.constraint_name != LIVE_SCOPE_INDEX:
            raise error
        scopes = [scope for scope in scopes if all(scope)]
        names = {}
        if scopes:
            # Only a new transaction sees what the other one committed.
            with self.env.registry.cursor() as cr:
                cr.execute(
                    SQL(
                        """
                        SELECT company_id, partner_id, currency_id, date_from,
                               date_to, name
                          FROM sale_reconciliation_statement
                         WHERE state != 'cancel'
                           AND (company_id, partner_id, currency_id, date_from,
                                date_to) IN %s
                        """,
                        tuple(scopes),
                    )
                )
                names = {tuple(row[:5]): row[5] for row in cr.fetchall()}
        for scope in scopes:
            if scope in names:
                self._raise_live_duplicate(scope, names[scope], error)
        self._raise_live_duplicate(None, None, error)

    @api.model
    def _raise_live_duplicate(self, scope, name=None, error=None):
        if not scope:
            raise UserError(
                _(
                    "Another statement of this customer, currency and period was "
                    "made at the same time: reload to see it."
                )
            ) from error
        partner = self.env["res.partner"].browse(scope[1])
        currency = self.env["res.currency"].browse(scope[2])
        if name:
            raise UserError(
                _(
                    "%(customer)s already has statement %(name)s for %(date_from)s "
                    "to %(date_to)s in %(currency)s: open it, or cancel it before "
                    "making another one.",
                    customer=partner.display_name,
                    name=name,
                    date_from=scope[3],
                    date_to=scope[4],
                    currency=currency.name,
                )
            ) from error
        raise UserError(
            _(
                "%(customer)s would get two statements for %(date_from)s to "
                "%(date_to)s in %(currency)s: a customer has one statement per "
                "currency and period.",
                customer=partner.display_name,
                date_from=scope[3],
                date_to=scope[4],
                currency=currency.name,
            )
        ) from error

    def _get_closed_periods(self):
        """{statement: the closed sales period it falls in}, for those of
        these statements that fall in one.

        A statement falls in the period of its last day, the day of its
        closing balance: a quarter's statement belongs to the quarter's last
        month. Its earlier months may be closed already (closed month by
        month, as usual): the statement reads their entries all the same,
        and the statements those months had stay as closing froze them (and
        in its way: a customer's statements never overlap, see
        ``_check_overlap``).
        """
        if not self:
            return {}
        closed_period = self.env["sale.reconciliation.period"]._find_closed_periods(
            self.company_id, min(self.mapped("date_to")), max(self.mapped("date_to"))
        )
        periods = {
            statement: closed_period(statement.company_id, statement.date_to)
            for statement in self
        }
        return {statement: period for statement, period in periods.items() if period}

    def _get_closed_period_statements(self):
        """These statements that fall in a closed sales period."""
        return self.browse([statement.id for statement in self._get_closed_periods()])

    def _check_period_open(self):
        """Closing a sales period freezes the scope and the lines of its
        statements: refuse to make, move or read again a statement there.
        A statement ending in an open period may start in closed ones (see
        ``_get_closed_periods``)."""
        for statement, period in self._get_closed_periods().items():
            raise UserError(
                _(
                    "Statement %(name)s falls in the closed sales period "
                    "%(period)s: its customer, dates and lines cannot change.",
                    name=statement.name,
                    period=period.name,
                )
            )

    def _check_writable(self, vals):
        fnames = set(vals)
        for statement in self:
            if statement.state == "accepted":
                blocked = {
                    fname
                    for fname in fnames
                    if fname not in WRITABLE_WHEN_ACCEPTED
                    and not fname.startswith(WRITABLE_WHEN_ACCEPTED_PREFIXES)
                }
                if blocked:
                    raise UserError(
                        _(
                            "Statement %(name)s was accepted by the customer: it "
                            "cannot change any more.",
                            name=statement.name,
                        )
                    )
            elif statement.state != "draft" and fnames & (LEDGER_FIELDS | SCOPE_FIELDS):
                raise UserError(
                    _(
                        "Statement %(name)s is no longer a draft: its customer, "
                        "period and lines are frozen. Reset it to draft to change "
                        "them.",
                        name=statement.name,
                    )
                )

    def _portal_ensure_token(self):
        # EXTENDS portal: the token lets a customer answer; only Odoo makes it.
        return super(
            SaleReconciliationStatement,
            WORKFLOW_GUARD.allow(self),
        )._portal_ensure_token()

    def _write_workflow(self, vals):
        """Write workflow fields: for the action methods and the ledger fill."""
        return WORKFLOW_GUARD.allow(self).write(vals)

    def _create_workflow(self, vals_list):
        """Create statements with workflow fields set (revisions)."""
        return WORKFLOW_GUARD.allow(self).create(vals_list).with_env(self.env)

    def _is_workflow_write(self):
        return WORKFLOW_GUARD.is_allowed(self)

    @api.model
    def _check_no_workflow_values(self, vals, workflow=False):
        """A new statement starts as a numbered draft read from the ledger:
        refuse values for its workflow fields or figures."""
        given = given_fields(
            self,
            vals,
            WORKFLOW_FIELDS | LEDGER_FIELDS,
            initial={"state": "draft", "name": "/"},
        )
        if workflow:
            given -= {"revised_from_id", "run_id"}
        if given:
            raise UserError(
                _(
                    "A new statement starts as a draft numbered by Odoo and read "
                    "from the ledger: %(fields)s cannot be given.",
                    fields=", ".join(
                        sorted(
                            self._fields[fname]._description_string(self.env)
                            for fname in given
                        )
                    ),
                )
            )

    def _check_own_customers(self):
        """Salespeople prepare statements of their own customers only."""
        if self.env.su or self.env.user.has_group(MANAGER_GROUP):
            return
        for statement in self:
            if statement.partner_id.user_id != self.env.user:
                raise AccessError(
                    _(
                        "%(customer)s is not one of your customers: only its "
                        "salesperson or a reconciliation manager can make its "
                        "statements.",
                        customer=statement.partner_id.display_name,
                    )
                )

    @api.model
    def _lock_statements_of_companies(self, companies):
        """Serialise the making of statements of a company: a second
        generation started while one runs stops at once, instead of making
        the same statements again."""
        for company in companies.sorted("id"):
            [[free]] = self.env.execute_query(
                SQL(
                    "SELECT pg_try_advisory_xact_lock(%s, %s)",
                    STATEMENT_LOCK_KEY,
                    company.id,
                )
            )
            if not free:
                raise UserError(
                    _(
                        "Statements of %(company)s are being made by another user "
                        "right now. Try again in a moment.",
                        company=company.name,
                    )
                )
            # The lock ends with the transaction that made statements, but a
            # transaction begun before that one committed cannot see them.
            # Updating the company's statement sequence row makes PostgreSQL
            # refuse it (a serialization failure, which Odoo retries with a
            # fresh view) instead of letting it make overlapping statements.
            self.env.cr.execute(
                SQL(
                    "UPDATE ir_sequence SET number_next = number_next WHERE id = %s",
                    self._get_statement_sequence(company).id,
                )
            )
