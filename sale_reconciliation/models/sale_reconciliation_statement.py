import hashlib
import json
import logging

from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, float_repr

from .reconciliation_access import check_reconciliation_manager
from .sale_reconciliation_statement_ledger import (
    DROP_OPEN_ITEMS,
    INSERT_DETAIL_LINES,
    INSERT_ENTRY_LINES,
    LEDGER_TOTALS,
    OPEN_ITEMS_STEPS,
    STATEMENT_CANDIDATES,
    UPDATE_TOTALS,
    ledger_sql,
)

_logger = logging.getLogger(__name__)

SEQUENCE_CODE = "sale.reconciliation.statement"

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

    def action_refresh(self):
        self._check_state({"draft"}, _("refresh it from the ledger"))
        self._fill_from_ledger()
        return True

    def action_confirm(self):
        check_reconciliation_manager(self.env, _("confirm statements"))
        self._check_state({"draft"}, _("confirm it"))
        for statement in self:
            if (
                statement.company_id.statement_review_required
                and statement.create_uid == self.env.user
                and not self.env.su
            ):
                raise UserError(
                    _(
                        "Statements of %(company)s must be reviewed by another user: "
                        "%(user)s prepared %(name)s and cannot confirm it.",
                        company=statement.company_id.name,
                        user=self.env.user.name,
                        name=statement.name,
                    )
                )
        self.write(
            {
                "state": "confirmed",
                "confirmed_by_id": self.env.user.id,
                "confirmed_date": fields.Datetime.now(),
            }
        )
        return True

    def action_send(self):
        """Email the statement with its PDF: the composer for one statement,
        straight out for several."""
        check_reconciliation_manager(self.env, _("send statements"))
        self._check_state({"confirmed", "sent"}, _("send it"))
        template = self.env.ref(
            "sale_reconciliation.mail_template_statement", raise_if_not_found=False
        )
        if len(self) > 1:
            self._send_with_template(template)
            return True
        lang = template._render_lang(self.ids)[self.id] if template else None
        return {
            "type": "ir.actions.act_window",
            "res_model": "mail.compose.message",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {
                "default_model": self._name,
                "default_res_ids": self.ids,
                "default_template_id": template.id if template else False,
                "default_composition_mode": "comment",
                "default_email_layout_xmlid": "mail.mail_notification_layout",
                "force_email": True,
                "mark_statement_as_sent": True,
                "lang": lang,
            },
        }

    def action_mark_sent(self):
        """Handed over on paper: sent without an email."""
        check_reconciliation_manager(self.env, _("send statements"))
        self._check_state({"confirmed"}, _("mark it as sent"))
        self._mark_sent()
        return True

    def action_accept(self, accepted_by=None, signature=None):
        """The customer agrees with the statement: ``accepted_by`` is the name
        they signed with (the customer's name by default), ``signature`` an
        optional image (base64)."""
        self._check_state({"sent"}, _("record the customer's acceptance"))
        now = fields.Datetime.now()
        for statement in self:
            statement.write(
                {
                    "state": "accepted",
                    "accepted_by": (accepted_by or "").strip()
                    or statement.partner_id.name,
                    "accepted_date": now,
                    "signature": signature or False,
                    "content_hash": statement._compute_content_hash(),
                }
            )
        return True

    def action_dispute(self, reason, line_comments=None):
        """The customer disagrees: ``reason`` says why, ``line_comments``
        ({line id: comment}) which lines are wrong."""
        self._check_state({"sent"}, _("record the customer's dispute"))
        reason = (reason or "").strip()
        if not reason:
            raise UserError(_("Say why the customer disputes the statement."))
        comments = {
            line_id: comment.strip()
            for line_id, comment in (line_comments or {}).items()
            if comment and comment.strip()
        }
        if comments:
            lines = self.env["sale.reconciliation.statement.line"].browse(
                list(comments)
            )
            foreign = lines - self.line_ids.filtered(
                lambda line: line.display_type == "entry"
            )
            if foreign:
                raise UserError(
                    _(
                        "A comment names a line that is not a journal item of "
                        "statement %(name)s.",
                        name=", ".join(self.mapped("name")),
                    )
                )
            for line in lines:
                line.dispute_comment = comments[line.id]
        self.write(
            {
                "state": "disputed",
                "dispute_reason": reason,
                "disputed_date": fields.Datetime.now(),
            }
        )
        return True

    def action_open_dispute_wizard(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Customer Disputes the Statement"),
            "res_model": "sale.reconciliation.statement.dispute",
            "view_mode": "form",
            "target": "new",
            "context": {"default_statement_id": self.id},
        }

    def action_revise(self):
        """Replace disputed statements by new drafts for the same customer,
        period and currency, read again from the ledger."""
        check_reconciliation_manager(self.env, _("revise statements"))
        self._check_state({"disputed"}, _("revise it"))
        self.write({"state": "cancel"})
        revisions = self.create(
            [
                {
                    "partner_id": statement.partner_id.id,
                    "company_id": statement.company_id.id,
                    "currency_id": statement.currency_id.id,
                    "date_from": statement.date_from,
                    "date_to": statement.date_to,
                    "statement_type": statement.statement_type,
                    "user_id": statement.user_id.id,
                    "revised_from_id": statement.id,
                }
                for statement in self
            ]
        )
        for statement, revision in zip(self, revisions, strict=True):
            statement.message_post(
                body=_("Revised by %(revision)s.", revision=revision._get_html_link())
            )
        if len(revisions) == 1:
            return {
                "type": "ir.actions.act_window",
                "res_model": self._name,
                "res_id": revisions.id,
                "view_mode": "form",
            }
        return True

    def action_cancel(self):
        check_reconciliation_manager(self.env, _("cancel statements"))
        self._check_state({"draft", "confirmed", "sent", "disputed"}, _("cancel it"))
        self.write({"state": "cancel"})
        return True

    def action_draft(self):
        check_reconciliation_manager(self.env, _("reset statements to draft"))
        self._check_state({"confirmed", "cancel"}, _("reset it to draft"))
        self.write(
            {"state": "draft", "confirmed_by_id": False, "confirmed_date": False}
        )
        self._fill_from_ledger()
        return True

    def action_verify_hash(self):
        """Tell whether the accepted content is intact."""
        self._check_state({"accepted"}, _("verify what the customer accepted"))
        broken = self.filtered(lambda s: not s._is_content_hash_valid())
        if broken:
            message = _(
                "Changed since the customer accepted it: %(names)s.",
                names=", ".join(broken.mapped("name")),
            )
            for statement in broken:
                statement.message_post(
                    body=_(
                        "Integrity check failed: the content no longer "
                        "matches what the customer accepted."
                    )
                )
        else:
            message = _("Intact: the content is what the customer accepted.")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Statement Integrity"),
                "message": message,
                "type": "danger" if broken else "success",
                "sticky": bool(broken),
            },
        }

    def action_export_xlsx(self):
        attachment = self._export_xlsx_attachment()
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{attachment.id}?download=true",
            "target": "download",
        }

    # -------------------------------------------------------------------------
    # MAIL
    # -------------------------------------------------------------------------

    @api.returns("mail.message", lambda value: value.id)
    def message_post(self, **kwargs):
        if self.env.context.get("mark_statement_as_sent"):
            self.filtered(lambda s: s.state == "confirmed")._mark_sent()
        return super().message_post(**kwargs)

    def _get_report_base_filename(self):
        self.ensure_one()
        return _("Statement %(name)s", name=self.name)

    # -------------------------------------------------------------------------
    # BUSINESS METHODS
    # -------------------------------------------------------------------------

    def _mark_sent(self):
        self.write({"state": "sent", "sent_date": fields.Datetime.now()})
        for statement in self:
            statement._portal_ensure_token()

    def _record_customer_answer(self, author, ip_address):
        """Log in the chatter who answered, when and from where, and give the
        responsible salesperson an activity to follow the answer up."""
        now = fields.Datetime.to_string(fields.Datetime.now())
        for statement in self:
            if statement.state == "accepted":
                body = _(
                    "%(name)s confirmed the statement on %(when)s UTC from "
                    "%(ip)s. Content hash: %(hash)s.",
                    name=statement.accepted_by,
                    when=now,
                    ip=ip_address or _("an unknown address"),
                    hash=statement.content_hash,
                )
                summary = _(
                    "Customer confirmed statement %(name)s", name=statement.name
                )
            else:
                body = _(
                    "%(name)s disputed the statement on %(when)s UTC from "
                    "%(ip)s: %(reason)s (%(count)s lines commented).",
                    name=author.name,
                    when=now,
                    ip=ip_address or _("an unknown address"),
                    reason=statement.dispute_reason,
                    count=statement.dispute_line_count,
                )
                summary = _("Customer disputed statement %(name)s", name=statement.name)
            statement.message_post(
                body=body,
                author_id=author.id,
                message_type="comment",
                subtype_xmlid="mail.mt_note",
            )
            statement.activity_feedback(
                ["sale_reconciliation.mail_activity_type_statement_followup"],
                feedback=_("The customer answered."),
            )
            responsible = (
                statement.user_id
                or statement.partner_id.user_id
                or statement.create_uid
            )
            statement.activity_schedule(
                "mail.mail_activity_data_todo",
                user_id=responsible.id,
                summary=summary,
                note=body,
            )

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

    @api.model
    def _assign_statement_numbers(self, vals_list):
        """Number the new statements from their company's sequence."""
        to_number = {}
        for vals in vals_list:
            if vals.get("name", "/") == "/":
                company_id = vals.get("company_id") or self.env.company.id
                to_number.setdefault(company_id, []).append(vals)
        for company_id, company_vals in to_number.items():
            sequence = self._get_statement_sequence(
                self.env["res.company"].browse(company_id)
            )
            for vals, number in zip(
                company_vals,
                self._reserve_sequence_numbers(sequence, len(company_vals)),
                strict=True,
            ):
                vals["name"] = number

    @api.model
    def _get_statement_sequence(self, company):
        # sudo: ir.sequence - numbering is technical; each company gets its own
        # sequence the first time it makes a statement.
        sequence_model = self.env["ir.sequence"].sudo()
        sequence = sequence_model.search(
            [("code", "=", SEQUENCE_CODE), ("company_id", "=", company.id)], limit=1
        )
        return sequence or sequence_model.create(
            {
                "name": _("Customer Statements (%(company)s)", company=company.name),
                "code": SEQUENCE_CODE,
                "company_id": company.id,
                "prefix": "ST/%(year)s/",
                "padding": 5,
            }
        )

    @api.model
    def _reserve_sequence_numbers(self, sequence, count):
        """``count`` numbers of ``sequence``: one query for a standard
        sequence, whatever the count."""
        if sequence.implementation != "standard" or sequence.use_date_range:
            return [sequence.next_by_id() for _i in range(count)]
        rows = self.env.execute_query(
            SQL(
                "SELECT nextval(%s) FROM generate_series(1, %s)",
                f"ir_sequence_{sequence.id:03d}",
                count,
            )
        )
        return [sequence.get_next_char(row[0]) for row in rows]

    def _check_has_ledger_entries(self, items):
        """A statement must have something to say: refuse a customer and
        currency without any receivable entry up to the period's end."""
        for statement in self:
            if not items.get(statement.id):
                raise ValidationError(
                    _(
                        "%(customer)s has no posted receivable entries in "
                        "%(currency)s in %(company)s up to %(date_to)s: there is "
                        "nothing to put on a statement.",
                        customer=statement.partner_id.display_name,
                        currency=statement.currency_id.name,
                        company=statement.company_id.name,
                        date_to=statement.date_to,
                    )
                )

    def _flush_ledger(self):
        self.env["account.move.line"].flush_model()
        self.env["account.move"].flush_model()
        self.env["account.partial.reconcile"].flush_model()
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        self.env["sale.order.line"].flush_model(["qty_delivered", "order_id"])
        self.env["sale.reconciliation.statement"].flush_model()
        self.env["sale.reconciliation.statement.line"].flush_model()

    def _read_ledger_totals(self):
        """{statement id: opening, debit, credit, entries, items} as the ledger
        has them now."""
        if not self.ids:
            return {}
        self._flush_ledger()
        rows = self.env.execute_query_dict(
            ledger_sql(LEDGER_TOTALS, statement_ids=self.ids)
        )
        return {row["statement_id"]: row for row in rows}

    def _fill_from_ledger(self):
        """(Re)write the lines and totals of these draft statements from the
        ledger, in a few queries for all of them.

        :return: {statement id: number of receivable items up to its end}
        """
        if not self:
            return {}
        self._flush_ledger()
        params = {"statement_ids": self.ids, "uid": self.env.uid}
        execute = self.env.execute_query
        execute(SQL(DROP_OPEN_ITEMS))
        for step in OPEN_ITEMS_STEPS:
            execute(ledger_sql(step, **params))
        execute(
            SQL(
                "DELETE FROM sale_reconciliation_statement_line "
                "WHERE statement_id = ANY(%s)",
                self.ids,
            )
        )
        execute(ledger_sql(INSERT_ENTRY_LINES, **params))
        execute(ledger_sql(INSERT_DETAIL_LINES, **params))
        items = dict(execute(ledger_sql(UPDATE_TOTALS, **params)))
        execute(SQL(DROP_OPEN_ITEMS))
        # The rows were written behind the ORM's back: forget what it cached.
        self.env["sale.reconciliation.statement.line"].invalidate_model()
        self.invalidate_recordset()
        self.env.add_to_compute(self._fields["entry_count"], self)
        return items

    def _get_hash_payload(self):
        """The accepted content, in a canonical text form."""
        self.ensure_one()
        digits = self.currency_id.decimal_places

        def money(value):
            return float_repr(self.currency_id.round(value), digits)

        payload = {
            "name": self.name,
            "partner": self.partner_id.id,
            "company": self.company_id.id,
            "currency": self.currency_id.name,
            "period": [str(self.date_from), str(self.date_to)],
            "totals": [
                money(self.opening_balance),
                money(self.total_debit),
                money(self.total_credit),
                money(self.closing_balance),
            ],
            "lines": [
                [
                    line.display_type,
                    str(line.date or ""),
                    line.name or "",
                    line.reference or "",
                    money(line.debit),
                    money(line.credit),
                    money(line.balance),
                    money(line.amount_residual),
                    line.product_id.id or 0,
                    float_repr(line.quantity or 0.0, 6),
                    money(line.price_subtotal),
                ]
                for line in self.line_ids.sorted(lambda line: (line.sequence, line.id))
            ],
        }
        return json.dumps(payload, sort_keys=True, separators=(",", ":"))

    def _compute_content_hash(self):
        self.ensure_one()
        return hashlib.sha256(self._get_hash_payload().encode()).hexdigest()

    def _is_content_hash_valid(self):
        self.ensure_one()
        return bool(self.content_hash) and (
            self.content_hash == self._compute_content_hash()
        )

    @api.model
    def _default_period(self, today=None):
        """Last month."""
        today = today or fields.Date.context_today(self)
        first = today.replace(day=1) - relativedelta(months=1)
        return first, today.replace(day=1) - relativedelta(days=1)

    # -------------------------------------------------------------------------
    # GENERATION
    # -------------------------------------------------------------------------

    @api.model
    def _generate_statements(
        self,
        date_from,
        date_to,
        statement_type=None,
        partners=None,
        company=None,
        company_currency_only=False,
    ):
        """Create in one batch the statements of the customers that had
        receivable entries in the period or have an open balance at its end,
        one per currency (or only in the company currency).

        :param partners: restrict to these customers (their commercial
            partners); ``None`` for every customer
        :return: (created statements, [(partner, currency, reason)] skipped)
        """
        company = company or self.env.company
        statement_type = statement_type or company.statement_default_type
        Partner = self.env["res.partner"]
        Currency = self.env["res.currency"]
        wanted = partners.commercial_partner_id if partners is not None else None
        self._flush_ledger()
        rows = self.env.execute_query_dict(
            ledger_sql(
                STATEMENT_CANDIDATES,
                company_id=company.id,
                date_from=date_from,
                date_to=date_to,
                partner_ids=wanted.ids if wanted is not None else None,
            )
        )
        skipped = []
        candidates = []
        for row in rows:
            partner = Partner.browse(row["partner_id"])
            currency = Currency.browse(row["currency_id"])
            if company_currency_only and currency != company.currency_id:
                skipped.append(
                    (partner, currency, _("entries in a currency not asked for"))
                )
            elif not row["has_activity"] and currency.is_zero(row["balance"]):
                skipped.append(
                    (partner, currency, _("no entries in the period, nothing open"))
                )
            else:
                candidates.append((partner, currency))
        if wanted is not None:
            with_entries = {partner for partner, _currency in candidates} | {
                partner for partner, _currency, _reason in skipped
            }
            for partner in wanted - Partner.union(*with_entries):
                skipped.append(
                    (partner, company.currency_id, _("no receivable entries at all"))
                )
        existing = self._find_overlapping(company, date_from, date_to, candidates)
        vals_list = []
        for partner, currency in candidates:
            other = existing.get((partner.id, currency.id))
            if other:
                skipped.append(
                    (
                        partner,
                        currency,
                        _("already has statement %(name)s", name=other.name),
                    )
                )
                continue
            vals_list.append(
                {
                    "partner_id": partner.id,
                    "company_id": company.id,
                    "currency_id": currency.id,
                    "date_from": date_from,
                    "date_to": date_to,
                    "statement_type": statement_type,
                }
            )
        statements = self.with_context(
            tracking_disable=True, mail_create_nosubscribe=True
        ).create(vals_list)
        _logger.info(
            "Generated %s customer statements of %s for %s to %s (%s skipped)",
            len(statements),
            company.name,
            date_from,
            date_to,
            len(skipped),
        )
        return statements.with_env(self.env), skipped

    @api.model
    def _find_overlapping(self, company, date_from, date_to, candidates):
        """{(partner id, currency id): statement} of the non-cancelled
        statements of these customers overlapping the period."""
        if not candidates:
            return {}
        statements = self.search(
            [
                ("company_id", "=", company.id),
                ("partner_id", "in", list({p.id for p, _c in candidates})),
                ("state", "!=", "cancel"),
                ("date_from", "<=", date_to),
                ("date_to", ">=", date_from),
            ]
        )
        return {(s.partner_id.id, s.currency_id.id): s for s in statements}

    @api.model
    def _cron_generate_statements(self):
        """Generate last month's statements for the companies whose statement
        day is today; confirm and send them where asked."""
        today = fields.Date.context_today(self)
        companies = self.env["res.company"].search(
            [
                ("statement_auto_generate", "=", True),
                ("statement_generation_day", "=", today.day),
            ]
        )
        date_from, date_to = self._default_period(today)
        for company in companies:
            statements, _skipped = self.with_company(company)._generate_statements(
                date_from, date_to, company=company
            )
            if company.statement_auto_send and not company.statement_review_required:
                statements.action_confirm()
                if statements:
                    statements._send_with_template()

    def _send_with_template(self, template=None):
        """Email each statement with its PDF, in its customer's language,
        without opening the composer; each email is posted on its statement."""
        template = template or self.env.ref(
            "sale_reconciliation.mail_template_statement"
        )
        composer = (
            self.env["mail.compose.message"]
            .with_context(
                default_model=self._name,
                default_res_ids=self.ids,
                default_template_id=template.id,
                default_composition_mode="comment",
                mark_statement_as_sent=True,
            )
            .create({})
        )
        composer.action_send_mail()

    @api.model
    def _cron_remind_unanswered(self):
        """An activity for the responsible of each statement sent and not
        answered for longer than its company allows."""
        activity_type = self.env.ref(
            "sale_reconciliation.mail_activity_type_statement_followup"
        )
        now = fields.Datetime.now()
        for company in self.env["res.company"].search(
            [("statement_reminder_days", ">", 0)]
        ):
            limit = now - relativedelta(days=company.statement_reminder_days)
            statements = self.search(
                [
                    ("company_id", "=", company.id),
                    ("state", "=", "sent"),
                    ("sent_date", "<=", limit),
                ]
            )
            for statement in statements.filtered(
                lambda s: activity_type not in s.activity_ids.activity_type_id
            ):
                statement.activity_schedule(
                    activity_type_id=activity_type.id,
                    user_id=statement.user_id.id or self.env.uid,
                    note=_(
                        "%(customer)s has not answered statement %(name)s, sent on "
                        "%(date)s.",
                        customer=statement.partner_id.name,
                        name=statement.name,
                        date=fields.Date.to_date(statement.sent_date),
                    ),
                )
