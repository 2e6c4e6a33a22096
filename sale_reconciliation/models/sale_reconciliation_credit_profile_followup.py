"""Collections follow-up (催款) of a customer in a company, kept on its credit
profile: who is due for which reminder, and sending it."""

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

CREDIT_MANAGER_GROUP = "sale_reconciliation.group_credit_manager"
# Follow-up fields a credit manager sets by hand; the others are written by
# the follow-up itself (as superuser) and the credit figures by their refresh.
FOLLOWUP_EDITABLE_FIELDS = {
    "followup_excluded",
    "followup_exclusion_reason",
    "followup_responsible_id",
}
# Figures of the live follow-up query, per customer.
EMPTY_FIGURES = {
    "overdue_amount": 0.0,
    "oldest_due": None,
    "due_level_id": None,
    "next_date": None,
    "reminder_amount": 0.0,
    "hold_amount": 0.0,
}


# One file per concern of the profile, as Odoo splits its large models.
class SaleReconciliationCreditProfile(models.Model):
    _inherit = "sale.reconciliation.credit.profile"  # pylint: disable=consider-merging-classes-inherited

    # -------------------------------------------------------------------------
    # FIELDS
    # -------------------------------------------------------------------------

    followup_level_id = fields.Many2one(
        "sale.reconciliation.followup.level",
        string="Current Level",
        readonly=True,
        help="Level of the last reminder sent, until nothing is overdue at a "
        "follow-up level any more.",
    )
    followup_last_date = fields.Date(string="Last Reminder", readonly=True)
    followup_excluded = fields.Boolean(
        string="Excluded from Follow-up",
        help="No reminder is sent to this customer in this company.",
    )
    followup_exclusion_reason = fields.Char(string="Exclusion Reason")
    followup_responsible_id = fields.Many2one(
        "res.users",
        string="Follow-up Responsible",
        domain="[('share', '=', False)]",
        help="Gets the follow-up activities of this customer instead of its "
        "salesperson or the credit managers.",
    )
    followup_hold = fields.Boolean(
        string="Held by Follow-up",
        readonly=True,
        help="The credit hold was put by the follow-up: it is lifted when "
        "nothing is overdue at a hold level any more. A hold a credit manager "
        "put is never lifted by the follow-up.",
    )
    followup_history_ids = fields.One2many(
        "sale.reconciliation.followup.history",
        "profile_id",
        string="Reminders",
        readonly=True,
    )
    # Live figures: read off the journal items at each display.
    followup_overdue_amount = fields.Monetary(
        string="Overdue Now",
        compute="_compute_followup_figures",
        help="Unpaid past its due date, leaving out invoices in dispute.",
    )
    followup_oldest_days = fields.Integer(
        string="Oldest Days Overdue",
        compute="_compute_followup_figures",
    )
    followup_next_level_id = fields.Many2one(
        "sale.reconciliation.followup.level",
        string="Next Level",
        compute="_compute_followup_figures",
    )
    followup_next_date = fields.Date(
        string="Next Follow-up",
        compute="_compute_followup_figures",
        help="When an invoice of the customer next reaches a level it has not "
        "been reminded at.",
    )
    followup_due = fields.Boolean(
        string="Due for a Reminder",
        compute="_compute_followup_figures",
        search="_search_followup_due",
    )

    # -------------------------------------------------------------------------
    # COMPUTE METHODS
    # -------------------------------------------------------------------------

    @api.depends("partner_id", "company_id", "followup_excluded")
    @api.depends_context("date")
    def _compute_followup_figures(self):
        today = fields.Date.context_today(self)
        Level = self.env["sale.reconciliation.followup.level"]
        for company, profiles in self.grouped("company_id").items():
            # sudo: the figures add up the customer's journal items, which a
            # salesperson may not read; the profile itself is readable.
            figures = (
                self.sudo()._followup_query(company, today, profiles.partner_id.ids)
                if company
                else {}
            )
            for profile in profiles:
                values = figures.get(profile.partner_id.id, EMPTY_FIGURES)
                due_level = Level.browse(values["due_level_id"])
                profile.followup_overdue_amount = values["overdue_amount"]
                profile.followup_oldest_days = (
                    (today - values["oldest_due"]).days if values["oldest_due"] else 0
                )
                profile.followup_next_level_id = due_level
                profile.followup_next_date = values["next_date"]
                profile.followup_due = bool(due_level) and not profile.followup_excluded

    def _search_followup_due(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(_("Unsupported search on Due for a Reminder."))
        today = fields.Date.context_today(self)
        due_ids = []
        for company in self.env.companies:
            # sudo: see _compute_followup_figures
            figures = self.sudo()._followup_query(company, today)
            partner_ids = [
                pid for pid, values in figures.items() if values["due_level_id"]
            ]
            if partner_ids:
                due_ids += self.search(
                    [
                        ("company_id", "=", company.id),
                        ("partner_id", "in", partner_ids),
                        ("followup_excluded", "=", False),
                    ]
                ).ids
        positive = (operator == "=") == value
        return [("id", "in" if positive else "not in", due_ids)]

    # -------------------------------------------------------------------------
    # CONSTRAINTS AND CRUD
    # -------------------------------------------------------------------------

    @api.constrains("followup_excluded", "followup_exclusion_reason")
    def _check_followup_exclusion_reason(self):
        for profile in self:
            if profile.followup_excluded and not profile.followup_exclusion_reason:
                raise ValidationError(
                    _(
                        "Say why %(customer)s is excluded from the follow-up.",
                        customer=profile.partner_id.display_name,
                    )
                )

    def write(self, vals):
        # Credit figures and the follow-up state are written by their own
        # processing as superuser; users change the follow-up settings only.
        if not self.env.su:
            if set(vals) - FOLLOWUP_EDITABLE_FIELDS:
                raise AccessError(
                    _("Credit figures and follow-up levels are not set by hand.")
                )
            if not self.env.user.has_group(CREDIT_MANAGER_GROUP):
                raise AccessError(
                    _("Only credit managers may change a customer's follow-up.")
                )
        return super().write(vals)

    # -------------------------------------------------------------------------
    # ACTIONS
    # -------------------------------------------------------------------------

    @api.model
    def action_open_followups(self):
        """The follow-up list, with a profile for every customer that has
        something to be reminded of in the user's companies."""
        # The profiles are made as superuser: only for a user who reads them.
        self.check_access("read")
        for company in self.env.companies:
            self._followup_ensure_profiles(company)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sale_reconciliation.sale_reconciliation_followup_action"
        )
        return action

    def action_open_followup_process(self):
        return {
            "type": "ir.actions.act_window",
            "name": _("Process Follow-ups"),
            "res_model": "sale.reconciliation.followup.process",
            "view_mode": "form",
            "target": "new",
            "context": {
                "active_model": self._name,
                "active_ids": self.ids,
            },
        }

    # -------------------------------------------------------------------------
    # QUERY
    # -------------------------------------------------------------------------

    def _followup_flush(self):
        self.env["account.move.line"].flush_model(
            [
                "account_id",
                "amount_residual",
                "company_id",
                "date_maturity",
                "move_id",
                "parent_state",
                "partner_id",
                "reconciled",
            ]
        )
        self.env["account.move"].flush_model(["followup_level_id", "followup_disputed"])
        self.env["account.account"].flush_model(["account_type"])
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        self.env["sale.reconciliation.followup.level"].flush_model(
            ["active", "company_id", "days", "credit_hold"]
        )
        self.env["sale.reconciliation.statement"].flush_model(["state"])
        self.env["sale.reconciliation.statement.line"].flush_model(
            ["dispute_comment", "move_id", "statement_id"]
        )

    def _followup_items_sql(self, company, today, partner_ids=None):
        """The customer's open receivable items of ``company`` that the
        follow-up reads, each with ``lvl`` (the highest level its age
        reaches, NULL before the first) and ``nxt`` (the first level it has
        not been reminded at). Items of disputed invoices are left out."""
        return SQL(
            """
                  FROM account_move_line line
                  JOIN account_account account ON account.id = line.account_id
                  JOIN res_partner partner ON partner.id = line.partner_id
                  JOIN account_move move ON move.id = line.move_id
                  LEFT JOIN sale_reconciliation_followup_level reached
                    ON reached.id = move.followup_level_id
                  LEFT JOIN (%(levels)s) lvl
                    ON lvl.days <= %(today)s - line.date_maturity
                   AND (lvl.next_days IS NULL
                        OR lvl.next_days > %(today)s - line.date_maturity)
                  LEFT JOIN (%(levels)s) nxt
                    ON nxt.days > COALESCE(reached.days, -2147483648)
                   AND (nxt.prev_days IS NULL
                        OR nxt.prev_days <= COALESCE(reached.days, -2147483648))
                 WHERE account.account_type = 'asset_receivable'
                   AND line.company_id = %(company)s
                   AND line.parent_state = 'posted'
                   AND line.reconciled IS NOT TRUE
                   AND line.amount_residual > 0
                   AND line.date_maturity IS NOT NULL
                   AND move.followup_disputed IS NOT TRUE
                   AND NOT EXISTS (
                       SELECT 1
                         FROM sale_reconciliation_statement_line disputed
                         JOIN sale_reconciliation_statement statement
                           ON statement.id = disputed.statement_id
                        WHERE disputed.move_id = move.id
                          AND statement.state = 'disputed'
                          AND disputed.dispute_comment IS NOT NULL
                   )
                   AND %(partners)s
            """,
            company=company.id,
            today=today,
            levels=SQL(
                # The company's active levels, each with the days of the
                # levels before and after it: an item joins the one level
                # its age falls in (lvl) and the first level above the one
                # it was reminded at (nxt), without a subquery per item.
                """
                SELECT level.id, level.days, level.credit_hold,
                       LAG(level.days) OVER (ORDER BY level.days, level.id)
                           AS prev_days,
                       LEAD(level.days) OVER (ORDER BY level.days, level.id)
                           AS next_days
                  FROM sale_reconciliation_followup_level level
                 WHERE level.company_id = %s AND level.active
                """,
                company.id,
            ),
            partners=self._partner_clause("partner.commercial_partner_id", partner_ids),
        )

    @api.model
    def _followup_query(self, company, today, partner_ids=None):
        """{customer: figures} of the customers of ``company`` with an open
        item (of ``partner_ids`` only, when given), in one grouped query:
        overdue amount, oldest due date, the level to remind them at today
        (the highest level reached by an item not yet reminded at it), the
        next follow-up date, what a reminder would list and what of it is at
        a level that puts on hold."""
        if partner_ids is not None and not partner_ids:
            return {}
        self._followup_flush()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT partner.commercial_partner_id,
                       COALESCE(SUM(line.amount_residual) FILTER (
                           WHERE line.date_maturity < %(today)s), 0),
                       MIN(line.date_maturity) FILTER (
                           WHERE line.date_maturity < %(today)s),
                       (ARRAY_AGG(lvl.id ORDER BY lvl.days DESC) FILTER (
                           WHERE nxt.days <= lvl.days))[1],
                       MIN(line.date_maturity + nxt.days),
                       COALESCE(SUM(line.amount_residual) FILTER (
                           WHERE lvl.id IS NOT NULL), 0),
                       COALESCE(SUM(line.amount_residual) FILTER (
                           WHERE lvl.credit_hold), 0)
                %(items)s
                 GROUP BY partner.commercial_partner_id
                """,
                today=today,
                items=self._followup_items_sql(company, today, partner_ids),
            )
        )
        return {row[0]: dict(zip(EMPTY_FIGURES, row[1:], strict=True)) for row in rows}

    @api.model
    def _followup_floor_query(self, company, today):
        """The plain aggregate over the same receivable items: the floor the
        follow-up query is measured against (bench only)."""
        self._followup_flush()
        return self.env.execute_query(
            SQL(
                """
                SELECT partner.commercial_partner_id,
                       SUM(line.amount_residual),
                       MIN(line.date_maturity)
                  FROM account_move_line line
                  JOIN account_account account ON account.id = line.account_id
                  JOIN res_partner partner ON partner.id = line.partner_id
                 WHERE account.account_type = 'asset_receivable'
                   AND line.company_id = %s
                   AND line.parent_state = 'posted'
                   AND line.reconciled IS NOT TRUE
                   AND line.amount_residual > 0
                   AND line.date_maturity < %s
                 GROUP BY partner.commercial_partner_id
                """,
                company.id,
                today,
            )
        )

    @api.model
    def _followup_items(self, company, today, partner_ids):
        """{customer: [(move id, level id, residual, due date)]}: the items a
        reminder to these customers lists (those at a level)."""
        self._followup_flush()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT partner.commercial_partner_id, move.id, lvl.id,
                       line.amount_residual, line.date_maturity
                %(items)s
                   AND lvl.id IS NOT NULL
                 ORDER BY line.date_maturity, move.id
                """,
                items=self._followup_items_sql(company, today, partner_ids),
            )
        )
        result = {}
        for partner_id, move_id, level_id, residual, due in rows:
            result.setdefault(partner_id, []).append((move_id, level_id, residual, due))
        return result

    @api.model
    def _followup_ensure_profiles(self, company):
        """Create the missing profiles of the customers with an item at a
        follow-up level in ``company`` (the nightly refresh fills their
        figures)."""
        today = fields.Date.context_today(self)
        # sudo: profiles are technical rows the nightly refresh makes anyway;
        # who reads them is decided by their record rules.
        profile_sudo = self.sudo()
        figures = profile_sudo._followup_query(company, today)
        wanted = [pid for pid, values in figures.items() if values["reminder_amount"]]
        if not wanted:
            return profile_sudo
        existing = profile_sudo.search(
            [("company_id", "=", company.id), ("partner_id", "in", wanted)]
        ).partner_id.ids
        missing = sorted(set(wanted) - set(existing))
        return profile_sudo.create(
            [{"partner_id": pid, "company_id": company.id} for pid in missing]
        )

    # -------------------------------------------------------------------------
    # PROCESSING
    # -------------------------------------------------------------------------

    def _followup_check_rights(self):
        if not (self.env.su or self.env.user.has_group(CREDIT_MANAGER_GROUP)):
            raise AccessError(_("Only credit managers may send follow-up reminders."))

    def _followup_prepare(self, today=None):
        """What each of these customers would receive today, as
        ``{profile: {level, items, amount, recipient}}``; customers with
        nothing due (or excluded) are left out."""
        today = today or fields.Date.context_today(self)
        result = {}
        Level = self.env["sale.reconciliation.followup.level"]
        for company, profiles in self.grouped("company_id").items():
            # sudo: the figures add up journal items (see above)
            profile_sudo = self.sudo()
            figures = profile_sudo._followup_query(
                company, today, profiles.partner_id.ids
            )
            due = profiles.filtered(
                lambda p, figures=figures: not p.followup_excluded
                and figures.get(p.partner_id.id, EMPTY_FIGURES)["due_level_id"]
            )
            items = profile_sudo._followup_items(company, today, due.partner_id.ids)
            for profile in due:
                partner = profile.partner_id
                lines = items.get(partner.id, [])
                result[profile] = {
                    "level": Level.browse(figures[partner.id]["due_level_id"]),
                    "items": lines,
                    "amount": sum(line[2] for line in lines),
                    "recipient": partner.browse(
                        partner.address_get(["invoice"])["invoice"]
                    ),
                }
        return result

    def _followup_describe(self, values):
        """What a customer will receive at its level, in words."""
        level = values["level"]
        parts = []
        if level.send_email:
            parts.append(
                _("email to %(email)s", email=values["recipient"].email or _("nobody"))
            )
        if level.print_letter:
            parts.append(_("letter"))
        if level.create_activity:
            parts.append(_("activity"))
        if level.credit_hold:
            parts.append(_("credit hold"))
        return ", ".join(parts)

    def _followup_send(self, prepared=None, today=None):
        """Send to each customer its reminder: email queued as mail.mail,
        letter, activity, credit hold, as its level says; each kept as a
        history record and posted in the customer's chatter. Raises on the
        first customer that cannot be reminded (callers process each
        customer in its own savepoint). Returns the history records."""
        self._followup_check_rights()
        today = today or fields.Date.context_today(self)
        if prepared is None:
            prepared = self._followup_prepare(today)
        History = self.env["sale.reconciliation.followup.history"]
        histories = History
        for profile, values in prepared.items():
            histories |= profile._followup_send_one(values, today)
        return histories

    def _followup_send_one(self, values, today):
        self.ensure_one()
        level = values["level"]
        partner = self.partner_id
        recipient = values["recipient"]
        if level.send_email and not recipient.email:
            raise UserError(
                _(
                    "No email address for the reminders of %(customer)s: give "
                    "%(contact)s one.",
                    customer=partner.display_name,
                    contact=recipient.display_name,
                )
            )
        # sudo: the follow-up writes the history, the invoices' levels, the
        # customer's chatter and hold on behalf of the credit manager (rights
        # checked in _followup_send) or of the scheduled action.
        self_sudo = self.sudo()
        moves = self_sudo.env["account.move"].browse(
            sorted({line[0] for line in values["items"]})
        )
        history = self_sudo.env["sale.reconciliation.followup.history"].create(
            {
                "profile_id": self.id,
                "partner_id": partner.id,
                "company_id": self.company_id.id,
                "level_id": level.id,
                "date": today,
                "sent_by_id": self.env.uid,
                "move_ids": [(6, 0, moves.ids)],
                "amount": values["amount"],
                "recipient_id": recipient.id,
            }
        )
        attachments = self_sudo.env["ir.attachment"]
        if level.print_letter:
            attachments |= history._render_letter()
        message = None
        if level.send_email:
            message = history._post_email(attachments)
        else:
            message = partner.sudo().message_post(
                body=history._summary(),
                message_type="comment",
                subtype_xmlid="mail.mt_note",
                attachment_ids=attachments.ids,
            )
        actions = []
        if level.create_activity:
            history._schedule_activity()
            actions.append("activity")
        if level.credit_hold:
            self_sudo._followup_put_on_hold(level)
        for level_id, items in _group_by_level(values["items"]).items():
            moves.filtered(lambda m, items=items: m.id in items).write(
                {"followup_level_id": level_id}
            )
        self_sudo.write({"followup_level_id": level.id, "followup_last_date": today})
        history.write({"message_id": message.id if message else False})
        return history

    def _followup_put_on_hold(self, level):
        """Put the customer on credit hold in the profile's company, unless a
        credit manager already did (then the hold stays theirs)."""
        for profile in self:
            partner = profile.partner_id.with_company(profile.company_id)
            if partner.credit_hold:
                continue
            partner.write(
                {
                    "credit_hold": True,
                    "credit_hold_reason": _("Follow-up: %(level)s", level=level.name),
                }
            )
            profile.write({"followup_hold": True})

    @api.model
    def _followup_release(self, company, partner_ids=None):
        """Lift the holds the follow-up put in ``company`` on the customers
        with nothing at a hold level any more, and reset the level of the
        customers with nothing at any level. Returns the customers released."""
        # sudo: scheduled or triggered by a payment; the follow-up lifts only
        # its own holds.
        profile_sudo = self.sudo()
        domain = [
            ("company_id", "=", company.id),
            "|",
            ("followup_hold", "=", True),
            ("followup_level_id", "!=", False),
        ]
        if partner_ids is not None:
            domain.append(("partner_id", "in", list(partner_ids)))
        profiles = profile_sudo.search(domain)
        if not profiles:
            return profile_sudo
        today = fields.Date.context_today(self)
        figures = profile_sudo._followup_query(company, today, profiles.partner_id.ids)
        currency = company.currency_id
        released = profile_sudo
        for profile in profiles:
            values = figures.get(profile.partner_id.id, EMPTY_FIGURES)
            vals = {}
            if profile.followup_hold and currency.is_zero(values["hold_amount"]):
                partner = profile.partner_id.with_company(company)
                if partner.credit_hold:
                    partner.write({"credit_hold": False, "credit_hold_reason": False})
                    partner.message_post(
                        body=_(
                            "Credit hold of %(company)s lifted by the follow-up: "
                            "nothing is overdue at a hold level any more.",
                            company=company.name,
                        ),
                        subtype_xmlid="mail.mt_note",
                    )
                vals["followup_hold"] = False
                released |= profile
            if profile.followup_level_id and currency.is_zero(
                values["reminder_amount"]
            ):
                vals["followup_level_id"] = False
            if vals:
                profile.write(vals)
        return released

    @api.model
    def _refresh(self, company, partner_ids=None):
        # EXTENDS sale_reconciliation: the customers whose documents changed
        # (a payment) get their follow-up hold lifted as soon as they are
        # refreshed.
        count = super()._refresh(company, partner_ids)
        self._followup_release(company, partner_ids)
        return count


def _group_by_level(items):
    """{level id: {move ids}} of follow-up items."""
    result = {}
    for move_id, level_id, _residual, _due in items:
        result.setdefault(level_id, set()).add(move_id)
    return result
