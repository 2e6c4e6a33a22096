"""Customer statements (对账单): what a statement is and what may change it."""

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

# What a statement says: read from the ledger, frozen from confirmation on.
LEDGER_FIELDS = {
    "opening_balance",
    "total_debit",
    "total_credit",
    "closing_balance",
    "overdue_amount",
    "aging_current",
    "aging_1_30",
    "aging_31_60",
    "aging_61_90",
    "aging_over_90",
    "line_ids",
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


class SaleReconciliationStatement(models.Model):
    _name = "sale.reconciliation.statement"
    _description = "Customer Statement"
    _inherit = ["mail.thread", "mail.activity.mixin", "portal.mixin"]
    _order = "date_to desc, id desc"
    _check_company_auto = True

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
    aging_current = fields.Monetary(string="Not Due", readonly=True, copy=False)
    aging_1_30 = fields.Monetary(string="1-30 Days", readonly=True, copy=False)
    aging_31_60 = fields.Monetary(string="31-60 Days", readonly=True, copy=False)
    aging_61_90 = fields.Monetary(string="61-90 Days", readonly=True, copy=False)
    aging_over_90 = fields.Monetary(string="Over 90 Days", readonly=True, copy=False)

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
        attachment=True,
        max_width=1024,
        max_height=1024,
        help="The signature the customer drew, or generated from their name, "
        "when confirming the statement online.",
    )
    dispute_line_count = fields.Integer(
        string="Lines Disputed",
        compute="_compute_dispute_line_count",
        help="Lines the customer commented on when disputing the statement.",
    )
    content_hash = fields.Char(
        readonly=True,
        copy=False,
        help="SHA-256 of the lines and totals the customer accepted.",
    )
    revised_from_id = fields.Many2one(
        "sale.reconciliation.statement",
        string="Revision Of",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The disputed statement this one replaces.",
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
        "was confirmed: the statement no longer matches it.",
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
            currency = statement.currency_id
            statement.ledger_closing_balance = closing
            statement.ledger_difference = closing - statement.closing_balance
            statement.ledger_changed = statement.state != "draft" and (
                bool(currency.compare_amounts(closing, statement.closing_balance))
                or bool(
                    currency.compare_amounts(ledger["debit"], statement.total_debit)
                )
                or bool(
                    currency.compare_amounts(ledger["credit"], statement.total_credit)
                )
                or ledger["entries"] != statement.entry_count
            )

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

    @api.model_create_multi
    def create(self, vals_list):
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
        self._assign_statement_numbers(vals_list)
        statements = super(
            SaleReconciliationStatement, self.with_context(mail_create_nolog=True)
        ).create(vals_list)
        statements._check_period_open()
        statements._check_has_ledger_entries(statements._fill_from_ledger())
        return statements.with_env(self.env)

    def write(self, vals):
        self._check_writable(vals)
        self._check_period_open()
        result = super().write(vals)
        if {"date_from", "date_to", "company_id"} & set(vals):
            self._check_period_open()
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

    def _check_period_open(self):
        """Statements of a closed sales period are part of what was closed."""
        if not self:
            return
        closed_period = self.env["sale.reconciliation.period"]._find_closed_periods(
            self.company_id, min(self.mapped("date_from")), max(self.mapped("date_to"))
        )
        for statement in self:
            period = closed_period(
                statement.company_id, statement.date_from, statement.date_to
            )
            if period:
                raise UserError(
                    _(
                        "Statement %(name)s falls in the closed sales period "
                        "%(period)s: it cannot be created or changed.",
                        name=statement.name,
                        period=period.name,
                    )
                )

    def _check_lines_editable(self):
        for statement in self:
            if statement.state != "draft":
                raise UserError(
                    _(
                        "The lines of statement %(name)s are frozen: it is no "
                        "longer a draft.",
                        name=statement.name,
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
