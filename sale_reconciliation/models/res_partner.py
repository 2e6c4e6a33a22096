from markupsafe import Markup, escape

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import format_amount

from .reconciliation_access import (
    CREDIT_MANAGER_GROUP,
    MANAGER_GROUP,
    with_context_defaults,
)
from .sale_reconciliation_credit_profile import CREDIT_RATINGS

# Billing users set credit limits in Odoo; they keep that right here.
BILLING_GROUP = "account.group_account_invoice"
# Who reads the credit figures of every customer: credit managers, finance
# (reconciliation managers, billing users). Salespeople read their own
# customers' only.
CREDIT_FINANCE_GROUPS = (
    CREDIT_MANAGER_GROUP,
    MANAGER_GROUP,
    BILLING_GROUP,
)
# Groups of the credit figures on the partner: salespeople (their own
# customers, see _filter_credit_readable) and finance.
CREDIT_FIGURE_GROUPS = "sale_reconciliation.group_reconciliation_user," + BILLING_GROUP
# Who may move a customer from one salesperson to another.
SALESPERSON_MANAGER_GROUPS = (
    "sales_team.group_sale_manager",
    MANAGER_GROUP,
)

# Partner fields only credit managers change; each change is logged in the
# customer's chatter, with the company it applies to.
CREDIT_TERMS_FIELDS = (
    "credit_limit",
    "credit_rating_override",
    "credit_hold",
    "credit_hold_reason",
)
# Of these, Odoo's own, which billing users change too, as in Odoo.
CREDIT_LIMIT_FIELDS = ("credit_limit", "use_partner_credit_limit")


class ResPartner(models.Model):
    _inherit = "res.partner"

    credit_rating_override = fields.Selection(
        selection=CREDIT_RATINGS,
        string="Rating Override",
        company_dependent=True,
        copy=False,
        groups="sale_reconciliation.group_reconciliation_user",
        help="Set by a credit manager to replace the computed rating in this "
        "company.",
    )
    credit_hold = fields.Boolean(
        company_dependent=True,
        copy=False,
        groups="sale_reconciliation.group_reconciliation_user",
        help="Put on hold by a credit manager: under the Block policy no order "
        "of this customer is confirmed without a credit approval.",
    )
    statement_frequency = fields.Selection(
        selection=[
            ("monthly", "Monthly"),
            ("quarterly", "Quarterly"),
            ("never", "Never"),
        ],
        default="monthly",
        help="How often the monthly statement run makes this customer's "
        "statement: quarterly ones cover the quarter, in its last month.",
    )
    statement_contact_id = fields.Many2one(
        "res.partner",
        domain="[('id', 'child_of', commercial_partner_id)]",
        help="Who receives the customer's statements by email; by default its "
        "invoice address.",
    )
    credit_hold_reason = fields.Char(
        string="Hold Reason",
        company_dependent=True,
        copy=False,
        groups="sale_reconciliation.group_reconciliation_user",
    )
    credit_rating = fields.Selection(
        selection=CREDIT_RATINGS,
        compute="_compute_credit_figures",
        search="_search_credit_rating",
        compute_sudo=True,
        groups=CREDIT_FIGURE_GROUPS,
        help="From the average days paid late over the last 12 months, "
        "weighted by amount (thresholds in Settings), unless overridden.",
    )
    credit_rating_computed = fields.Selection(
        selection=CREDIT_RATINGS,
        string="Computed Rating",
        compute="_compute_credit_figures",
        compute_sudo=True,
        groups=CREDIT_FIGURE_GROUPS,
    )
    credit_average_days_late = fields.Float(
        string="Average Days Late",
        digits=(16, 1),
        compute="_compute_credit_figures",
        compute_sudo=True,
        groups=CREDIT_FIGURE_GROUPS,
    )
    credit_exposure = fields.Monetary(
        currency_field="credit_currency_id",
        compute="_compute_credit_figures",
        search="_search_credit_exposure",
        compute_sudo=True,
        groups=CREDIT_FIGURE_GROUPS,
        help="Open receivables + confirmed orders not yet invoiced + draft "
        "invoices, in the company currency.",
    )
    credit_available = fields.Monetary(
        string="Available Credit",
        currency_field="credit_currency_id",
        compute="_compute_credit_figures",
        search="_search_credit_available",
        compute_sudo=True,
        groups=CREDIT_FIGURE_GROUPS,
        help="Credit limit less exposure.",
    )
    credit_overdue_amount = fields.Monetary(
        string="Overdue Amount",
        currency_field="credit_currency_id",
        compute="_compute_credit_figures",
        search="_search_credit_overdue_amount",
        compute_sudo=True,
        groups=CREDIT_FIGURE_GROUPS,
    )
    credit_overdue_oldest_days = fields.Integer(
        string="Oldest Overdue (Days)",
        compute="_compute_credit_figures",
        search="_search_credit_overdue_oldest_days",
        compute_sudo=True,
        groups=CREDIT_FIGURE_GROUPS,
    )
    credit_overdue_hold = fields.Boolean(
        string="Overdue Hold",
        compute="_compute_credit_figures",
        compute_sudo=True,
        groups=CREDIT_FIGURE_GROUPS,
        help="Owes at least the company's minimum overdue amount for longer "
        "than its overdue hold delay.",
    )
    credit_currency_id = fields.Many2one(
        comodel_name="res.currency",
        compute="_compute_credit_currency_id",
    )
    credit_profile_ids = fields.One2many(
        comodel_name="sale.reconciliation.credit.profile",
        inverse_name="partner_id",
        string="Credit Profiles",
        groups="sale_reconciliation.group_reconciliation_user",
    )
    credit_control_editable = fields.Boolean(
        compute="_compute_credit_control_editable",
    )
    credit_limit_editable = fields.Boolean(
        compute="_compute_credit_control_editable",
    )

    # -------------------------------------------------------------------------
    # COMPUTE METHODS
    # -------------------------------------------------------------------------

    @api.depends_context("company", "uid")
    @api.depends(
        "commercial_partner_id",
        "commercial_partner_id.user_id",
        "credit_limit",
        "credit_hold",
        "credit_rating_override",
    )
    def _compute_credit_figures(self):
        # Computed as superuser (compute_sudo), for the user reading: the
        # customers they may not read the credit of show nothing.
        company = self.env.company
        readable = self._filter_credit_readable()
        figures = (
            self.env["sale.reconciliation.credit.profile"]._get_credit_figures(
                company, readable.commercial_partner_id.ids
            )
            if readable
            else {}
        )
        for partner in self:
            values = (
                figures.get(partner.commercial_partner_id.id, {})
                if partner in readable
                else {}
            )
            partner.credit_rating = values.get("credit_rating", False)
            partner.credit_rating_computed = values.get("credit_rating_computed", False)
            partner.credit_average_days_late = values.get("average_days_late", 0.0)
            partner.credit_exposure = values.get("credit_exposure", 0.0)
            partner.credit_available = values.get("credit_available", 0.0)
            partner.credit_overdue_amount = values.get("credit_overdue_amount", 0.0)
            partner.credit_overdue_oldest_days = values.get(
                "credit_overdue_oldest_days", 0
            )
            partner.credit_overdue_hold = values.get("overdue_hold", False)

    @api.depends_context("company")
    def _compute_credit_currency_id(self):
        self.credit_currency_id = self.env.company.currency_id

    @api.depends_context("uid")
    def _compute_credit_control_editable(self):
        user = self.env.user
        self.credit_control_editable = user.has_group(CREDIT_MANAGER_GROUP)
        self.credit_limit_editable = user.has_group(
            CREDIT_MANAGER_GROUP
        ) or user.has_group(BILLING_GROUP)

    def _search_credit_profile(self, field_name, operator, value):
        """Search a credit figure on the customers' stored credit profiles in
        the current company (refreshed at each change and nightly): every
        customer for finance, their own customers for salespeople (the
        profiles' rules)."""
        profile_model = self.env["sale.reconciliation.credit.profile"]
        if self._is_credit_finance_user():
            # sudo: sale.reconciliation.credit.profile - finance reads the
            # credit of every customer, billing users without the profiles'
            # access rights too.
            profile_model = profile_model.sudo()
        profiles = profile_model._search(
            [("company_id", "=", self.env.company.id), (field_name, operator, value)]
        )
        return [("commercial_partner_id", "in", profiles.subselect("partner_id"))]

    def _search_credit_rating(self, operator, value):
        return self._search_credit_profile("credit_rating", operator, value)

    def _search_credit_exposure(self, operator, value):
        return self._search_credit_profile("credit_exposure", operator, value)

    def _search_credit_available(self, operator, value):
        return self._search_credit_profile("credit_available", operator, value)

    def _search_credit_overdue_amount(self, operator, value):
        return self._search_credit_profile("credit_overdue_amount", operator, value)

    def _search_credit_overdue_oldest_days(self, operator, value):
        return self._search_credit_profile(
            "credit_overdue_oldest_days", operator, value
        )

    # -------------------------------------------------------------------------
    # CONSTRAINTS
    # -------------------------------------------------------------------------

    @api.constrains("statement_contact_id", "parent_id")
    def _check_statement_contact(self):
        # The customer's statements are emailed to this contact: one of the
        # customer's own, never an address a user picks elsewhere.
        for partner in self.filtered("statement_contact_id"):
            if not partner._is_own_statement_contact(partner.statement_contact_id):
                raise ValidationError(
                    _(
                        "The statements of %(customer)s go to one of its own "
                        "contacts, not to %(contact)s.",
                        customer=partner.display_name,
                        contact=partner.statement_contact_id.display_name,
                    )
                )

    def _is_own_statement_contact(self, contact):
        self.ensure_one()
        return contact.commercial_partner_id == self.commercial_partner_id

    # -------------------------------------------------------------------------
    # CRUD METHODS
    # -------------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        # Credit terms given as default_<field> context keys count too.
        self._check_credit_terms_rights(
            {
                fname
                for vals in vals_list
                for fname, value in with_context_defaults(
                    self, vals, CREDIT_TERMS_FIELDS
                ).items()
                if fname in CREDIT_TERMS_FIELDS and value
            }
        )
        return super().create(vals_list)

    def write(self, vals):
        if "user_id" in vals:
            self._check_salesperson_change(vals["user_id"])
        changed = [
            fname
            for fname in CREDIT_TERMS_FIELDS + ("use_partner_credit_limit",)
            if fname in vals
        ]
        if not changed:
            return super().write(vals)
        self._check_credit_terms_rights(changed)
        # sudo: the old values are read to log them; the credit manager may not
        # be in the accounting groups that read the limit.
        before = {
            partner.id: {fname: partner.sudo()[fname] for fname in CREDIT_TERMS_FIELDS}
            for partner in self
        }
        partners = self
        if set(vals) <= set(changed) and self._is_credit_manager():
            # sudo: credit managers set credit terms on customers they may not
            # otherwise edit (checked just above); billing users write the
            # limit with their own rights, as in Odoo.
            partners = self.sudo()
        result = super(ResPartner, partners).write(vals)
        if "credit_hold" in vals:
            self._release_followup_hold_ownership()
        for partner in self:
            partner._log_credit_terms_change(before[partner.id])
        company = self.env.company
        self.env["sale.reconciliation.credit.profile"]._mark_for_refresh(
            (partner, company) for partner in self
        )
        return result

    # -------------------------------------------------------------------------
    # ACTIONS
    # -------------------------------------------------------------------------

    def action_open_credit_profiles(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sale_reconciliation.sale_reconciliation_credit_profile_action"
        )
        action["domain"] = [("partner_id", "=", self.commercial_partner_id.id)]
        action["context"] = {}
        return action

    # -------------------------------------------------------------------------
    # HELPERS
    # -------------------------------------------------------------------------

    def _check_salesperson_change(self, new_user_id):
        """A customer's salesperson sees its statements and reconciliation:
        only managers move a customer from one salesperson to another; a
        salesperson takes customers that have none, or gives away their own."""
        if self.env.su or any(
            self.env.user.has_group(group) for group in SALESPERSON_MANAGER_GROUPS
        ):
            return
        for partner in self:
            current = partner.user_id
            if current and current != self.env.user and current.id != new_user_id:
                raise AccessError(
                    _(
                        "%(customer)s is %(salesperson)s's customer: only a sales "
                        "or reconciliation manager can give it another "
                        "salesperson.",
                        customer=partner.display_name,
                        salesperson=current.name,
                    )
                )

    def _release_followup_hold_ownership(self):
        """A hold set or lifted by a user (not by the follow-up, which marks
        its own holds after writing them) is theirs from now on: the
        follow-up never lifts it."""
        # sudo: the follow-up flag is written by the follow-up only (see the
        # credit profile's write guard); a credit manager's hold clears it.
        profiles = (
            self.env["sale.reconciliation.credit.profile"]
            .sudo()
            .search(
                [
                    ("company_id", "=", self.env.company.id),
                    ("partner_id", "in", (self | self.commercial_partner_id).ids),
                    ("followup_hold", "=", True),
                ]
            )
        )
        profiles.write({"followup_hold": False})

    def _is_credit_manager(self):
        return self.env.su or self.env.user.has_group(CREDIT_MANAGER_GROUP)

    def _is_credit_finance_user(self):
        """Whether the user reads the credit of every customer (whether or not
        in sudo: the figures are computed as superuser for the user)."""
        user = self.env.user
        return user._is_superuser() or any(
            user.has_group(group) for group in CREDIT_FINANCE_GROUPS
        )

    def _filter_credit_readable(self):
        """The partners whose credit figures the user reads: all for finance,
        the customers they are the salesperson of otherwise."""
        if self._is_credit_finance_user():
            return self
        user = self.env.user
        return self.filtered(
            lambda partner: partner.commercial_partner_id.user_id == user
        )

    def _check_credit_terms_rights(self, fnames):
        """Credit managers change the credit terms ``fnames``; billing users
        change Odoo's credit limit too, as Odoo lets them."""
        if not fnames or self._is_credit_manager():
            return
        if set(fnames) <= set(CREDIT_LIMIT_FIELDS) and self.env.user.has_group(
            BILLING_GROUP
        ):
            return
        raise AccessError(
            _(
                "Only credit managers may change credit ratings and holds; "
                "credit managers and billing users may change credit limits."
            )
        )

    def _log_credit_terms_change(self, before):
        """Post in the chatter the credit terms that changed, from ``before``
        (field -> old value) to now, in the current company."""
        self.ensure_one()
        # sudo: see write()
        partner_sudo = self.sudo()
        company = self.env.company
        changes = []
        for fname in CREDIT_TERMS_FIELDS:
            old, new = before[fname], partner_sudo[fname]
            if old == new or (not old and not new):
                continue
            field = self._fields[fname]
            label = field.get_description(self.env)["string"]
            changes.append(
                Markup("<li>%s: %s → %s</li>")
                % (
                    label,
                    self._format_credit_term(fname, old, company),
                    self._format_credit_term(fname, new, company),
                )
            )
        if changes:
            # sudo: logged for a credit manager who may not edit the contact.
            partner_sudo.message_post(
                author_id=self.env.user.partner_id.id,
                body=Markup("%s<ul>%s</ul>")
                % (
                    escape(
                        _("Credit terms changed in %(company)s:", company=company.name)
                    ),
                    Markup().join(changes),
                ),
            )

    def _format_credit_term(self, fname, value, company):
        if fname == "credit_limit":
            return format_amount(self.env, value or 0.0, company.currency_id)
        if fname == "credit_hold":
            return _("On hold") if value else _("Not on hold")
        if fname == "credit_rating_override":
            return (
                dict(self._fields[fname]._description_selection(self.env)).get(value)
                if value
                else _("None")
            )
        return value or _("None")
