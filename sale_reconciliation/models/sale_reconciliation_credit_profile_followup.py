"""Collections follow-up (催款) of a customer in a company, kept on its credit
profile: who is due for which reminder, and sending it."""

from odoo import Command, _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from .reconciliation_access import CREDIT_MANAGER_GROUP

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
    "overdue_gross_amount": 0.0,
    "credit_amount": 0.0,
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
        help="The credit hold was put by the follow-up: it is lifted when what "
        "the customer was reminded of at a hold level is paid (a dispute "
        "does not lift it), or by a credit manager. A hold a credit manager "
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
        help="Unpaid past its due date, net of the customer's unapplied "
        "payments and credit notes and of the collections in hand, leaving out "
        "invoices in dispute.",
    )
    followup_credit_amount = fields.Monetary(
        string="Unapplied Credits",
        compute="_compute_followup_figures",
        help="Payments and credit notes of the customer not matched with an "
        "invoice yet: the follow-up sets them against the overdue invoices.",
    )
    followup_credits_to_match = fields.Boolean(
        string="Credits to Match",
        compute="_compute_followup_figures",
        search="_search_followup_credits_to_match",
        help="The customer has overdue invoices and unapplied payments or "
        "credit notes: accounting should match them.",
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
                profile.followup_credit_amount = values["credit_amount"]
                profile.followup_credits_to_match = _credits_to_match(values)

    def _search_followup_due(self, operator, value):
        return self._search_followup_figure(
            operator,
            value,
            lambda values: values["due_level_id"],
            [("followup_excluded", "=", False)],
        )

    def _search_followup_credits_to_match(self, operator, value):
        return self._search_followup_figure(operator, value, _credits_to_match, [])

    def _search_followup_figure(self, operator, value, wanted, domain):
        """Profiles of the user's companies whose live figures are
        ``wanted`` (a predicate on the figures of _followup_query)."""
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(_("Unsupported search on a follow-up figure."))
        today = fields.Date.context_today(self)
        due_ids = []
        for company in self.env.companies:
            # sudo: see _compute_followup_figures
            figures = self.sudo()._followup_query(company, today)
            partner_ids = [pid for pid, values in figures.items() if wanted(values)]
            if partner_ids:
                due_ids += self.search(
                    [
                        ("company_id", "=", company.id),
                        ("partner_id", "in", partner_ids),
                        *domain,
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
                "amount_residual_currency",
                "company_id",
                "currency_id",
                "date",
                "date_maturity",
                "followup_level_id",
                "move_id",
                "parent_state",
                "partner_id",
                "reconciled",
            ]
        )
        self.env["account.move"].flush_model(["company_id", "followup_disputed"])
        self.env["account.account"].flush_model(["account_type"])
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        self.env["sale.reconciliation.followup.level"].flush_model(
            ["active", "company_id", "days", "credit_hold"]
        )
        self.env["sale.reconciliation.statement"].flush_model(["state"])
        self.env["sale.reconciliation.statement.line"].flush_model(
            ["dispute_comment", "move_id", "statement_id"]
        )
        self.env["account.payment"].flush_model(
            ["amount", "amount_company_currency_signed", "currency_id", "date"]
            + ["invoice_ids", "move_id", "partner_id", "state", "company_id"]
            + ["payment_type", "partner_type"]
        )
        self.env["sale.reconciliation.collection"].flush_model(
            ["amount", "company_id", "currency_id", "date", "invoice_ids"]
            + ["partner_id", "state"]
        )

    def _followup_netted_sql(self, company, today, partner_ids=None):
        """``WITH`` queries ending in ``netted``: the open receivable items
        (debit lines, instalment by instalment) of the customers of
        ``company``, each with ``net``, what is still owed on it once the
        customer's credits are set against its items, in the item's own
        currency (``net_company`` in the company's), oldest due first:

        - first, collections still in a salesperson's or cashier's hands
          (draft or handed over) against the invoices they name;
        - then unapplied payments and credit notes (receivable credit lines
          not reconciled, dated up to ``today``), collections naming no
          invoice and what the named invoices left of their collections.

        Items of invoices in dispute (ticked, or on a line the customer
        disputed on a statement) take no credit and keep their residual as
        ``net``; the follow-up leaves them out but still counts them for the
        hold they caused. Items of customers with nothing to set against
        them skip the running sums."""
        partners = self._partner_clause("partner.commercial_partner_id", partner_ids)
        # The items are read without their customer (one join per item is
        # most of the cost): rows are of the item's contact (``partner_id``),
        # whose customer the callers join once per contact.
        line_partners = (
            SQL(
                "line.partner_id IN (SELECT id FROM res_partner "
                "WHERE commercial_partner_id IN %s)",
                tuple(partner_ids),
            )
            if partner_ids is not None
            else SQL("TRUE")
        )
        item = SQL(
            """
                line.partner_id, line.id AS line_id, line.move_id,
                line.currency_id, line.date_maturity,
                line.followup_level_id AS reached_id,
                line.amount_residual AS residual,
                line.amount_residual_currency AS residual_currency,
                disputed_move.move_id IS NOT NULL AS disputed
            """
        )
        open_debit = SQL(
            """
                account.account_type = 'asset_receivable'
            AND line.company_id = %s
            AND line.parent_state = 'posted'
            AND line.reconciled IS NOT TRUE
            AND line.amount_residual > 0
            AND line.date_maturity IS NOT NULL
            """,
            company.id,
        )
        return SQL(
            """
            WITH disputed_move AS (
                SELECT move.id AS move_id
                  FROM account_move move
                 WHERE move.followup_disputed IS TRUE
                   AND move.company_id = %(company)s
                 UNION
                SELECT disputed.move_id
                  FROM sale_reconciliation_statement_line disputed
                  JOIN sale_reconciliation_statement statement
                    ON statement.id = disputed.statement_id
                 WHERE statement.state = 'disputed'
                   AND statement.company_id = %(company)s
                   AND disputed.dispute_comment IS NOT NULL
                   AND disputed.move_id IS NOT NULL
            ),
            named_move AS (
                SELECT rel.move_id, collection.currency_id
                  FROM sale_reconciliation_collection_invoice_rel rel
                  JOIN sale_reconciliation_collection collection
                    ON collection.id = rel.collection_id
                 WHERE %(pending_collection)s
                 UNION
                SELECT rel.invoice_id, payment.currency_id
                  FROM account_move__account_payment rel
                  JOIN account_payment payment ON payment.id = rel.payment_id
                 WHERE %(entryless_payment)s
            ),
            credit AS (
                -- What each customer has to set against its items, per
                -- currency: unapplied payments and credit notes, payments
                -- Odoo made no journal entry for (Accounting's payments
                -- without outstanding account) and the collections in hand,
                -- naming invoices or not. ``ledger_pool``: what of it is
                -- money received by the company, which alone lifts a hold.
                SELECT partner_id, currency_id,
                       SUM(amount) AS amount,
                       SUM(free_currency) AS free_pool,
                       SUM(named_currency) AS named_pool,
                       SUM(ledger_currency) AS ledger_pool
                  FROM (
                      SELECT partner.commercial_partner_id AS partner_id,
                             line.currency_id,
                             -line.amount_residual AS amount,
                             -line.amount_residual_currency AS free_currency,
                             0 AS named_currency,
                             -line.amount_residual_currency AS ledger_currency
                        FROM account_move_line line
                        JOIN account_account account
                          ON account.id = line.account_id
                        JOIN res_partner partner ON partner.id = line.partner_id
                       WHERE %(credit_line)s AND %(partners)s
                       UNION ALL
                      SELECT partner.commercial_partner_id, payment.currency_id,
                             payment.amount_company_currency_signed,
                             CASE WHEN invoiced.named THEN 0
                                  ELSE payment.amount END,
                             CASE WHEN invoiced.named THEN payment.amount
                                  ELSE 0 END,
                             payment.amount
                        FROM account_payment payment
                        JOIN res_partner partner ON partner.id = payment.partner_id
                       CROSS JOIN LATERAL (
                             SELECT EXISTS (
                                 SELECT 1
                                   FROM account_move__account_payment rel
                                  WHERE rel.payment_id = payment.id
                             ) AS named
                       ) invoiced
                       WHERE %(entryless_payment)s AND %(partners)s
                       UNION ALL
                      SELECT partner.commercial_partner_id, collection.currency_id,
                             0,
                             CASE WHEN invoiced.named THEN 0
                                  ELSE collection.amount END,
                             CASE WHEN invoiced.named THEN collection.amount
                                  ELSE 0 END,
                             0
                        FROM sale_reconciliation_collection collection
                        JOIN res_partner partner
                          ON partner.id = collection.partner_id
                       CROSS JOIN LATERAL (
                             SELECT EXISTS (
                                 SELECT 1
                                   FROM sale_reconciliation_collection_invoice_rel rel
                                  WHERE rel.collection_id = collection.id
                             ) AS named
                       ) invoiced
                       WHERE %(pending_collection)s AND %(partners)s
                  ) credits
                 GROUP BY partner_id, currency_id
            ),
            credit_partner AS (
                -- The contacts of the customers with credits, per currency:
                -- their items take the running sums.
                SELECT partner.id AS partner_id, partner.commercial_partner_id,
                       credit.currency_id, credit.free_pool, credit.named_pool
                  FROM credit
                  JOIN res_partner partner
                    ON partner.commercial_partner_id = credit.partner_id
            ),
            named AS (
                SELECT credit_partner.commercial_partner_id,
                       credit_partner.free_pool, credit_partner.named_pool,
                       %(item)s,
                       named_move.move_id IS NOT NULL AS named
                  FROM credit_partner
                  JOIN account_move_line line
                    ON line.partner_id = credit_partner.partner_id
                   AND line.currency_id = credit_partner.currency_id
                  JOIN account_account account ON account.id = line.account_id
                  LEFT JOIN disputed_move ON disputed_move.move_id = line.move_id
                  LEFT JOIN named_move
                    ON named_move.move_id = line.move_id
                   AND named_move.currency_id = line.currency_id
                 WHERE %(open_debit)s
            ),
            running AS (
                SELECT named.*,
                       SUM(residual_currency) FILTER (
                           WHERE named AND NOT disputed) OVER (
                           PARTITION BY commercial_partner_id, currency_id
                           ORDER BY date_maturity, line_id
                       ) AS named_cumul,
                       SUM(residual_currency) FILTER (
                           WHERE named AND NOT disputed) OVER (
                           PARTITION BY commercial_partner_id, currency_id
                       ) AS named_total
                  FROM named
            ),
            unnamed AS (
                SELECT running.*,
                       residual_currency - CASE
                           WHEN named AND NOT disputed
                           THEN LEAST(residual_currency, GREATEST(0,
                               named_pool - named_cumul + residual_currency))
                           ELSE 0 END AS open_currency,
                       free_pool + GREATEST(0,
                           named_pool - COALESCE(named_total, 0)) AS pool
                  FROM running
            ),
            netted AS (
                -- Customers with nothing to set against their items: as
                -- the ledger has them, without running sums.
                SELECT %(item)s,
                       line.amount_residual_currency AS net,
                       line.amount_residual AS net_company
                  FROM account_move_line line
                  JOIN account_account account ON account.id = line.account_id
                  LEFT JOIN disputed_move ON disputed_move.move_id = line.move_id
                 WHERE %(open_debit)s
                   AND %(line_partners)s
                   AND NOT EXISTS (
                       SELECT 1
                         FROM credit_partner
                        WHERE credit_partner.partner_id = line.partner_id
                          AND credit_partner.currency_id = line.currency_id
                   )
                 UNION ALL
                SELECT partner_id, line_id, move_id, currency_id, date_maturity,
                       reached_id, residual, residual_currency, disputed, net,
                       CASE WHEN residual_currency = 0 THEN 0
                       ELSE net * residual / residual_currency END
                  FROM (
                      SELECT unnamed.*,
                             CASE WHEN disputed THEN residual_currency
                             ELSE LEAST(open_currency, GREATEST(0,
                                 SUM(open_currency) FILTER (
                                     WHERE NOT disputed) OVER (
                                     PARTITION BY commercial_partner_id,
                                                  currency_id
                                     ORDER BY date_maturity, line_id
                                 ) - pool))
                             END AS net
                        FROM unnamed
                  ) netted_currency
            )
            """,
            company=company.id,
            partners=partners,
            item=item,
            open_debit=open_debit,
            line_partners=line_partners,
            **self._followup_credit_clauses(company, today),
        )

    @api.model
    def _followup_credit_clauses(self, company, today):
        """The conditions of what a customer has to set against its items,
        as of ``today``: its unapplied receivable credit lines (``line``),
        payments without journal entry (``payment``) and collections still in
        hand (``collection``)."""
        return {
            "credit_line": SQL(
                """
                    account.account_type = 'asset_receivable'
                AND line.company_id = %(company)s
                AND line.parent_state = 'posted'
                AND line.reconciled IS NOT TRUE
                AND line.amount_residual < 0
                AND line.date <= %(today)s
                """,
                company=company.id,
                today=today,
            ),
            "entryless_payment": SQL(
                "payment.company_id = %s AND %s AND payment.date <= %s",
                company.id,
                self._entryless_payment_clause(),
                today,
            ),
            "pending_collection": SQL(
                "collection.company_id = %s "
                "AND collection.state IN ('draft', 'handed_over') "
                "AND collection.date <= %s",
                company.id,
                today,
            ),
        }

    @api.model
    def _entryless_payment_clause(self):
        """Customer payments received for which Odoo made no journal entry
        (with Accounting, a payment method without outstanding account): the
        invoices they pay stay open in the ledger, in payment."""
        return SQL(
            """
                payment.move_id IS NULL
            AND payment.state = 'in_process'
            AND payment.payment_type = 'inbound'
            AND payment.partner_type = 'customer'
            """
        )

    def _followup_levels(self, company):
        """What the follow-up query needs of the company's levels, read once:
        {"active": [(days, id)] by days, "next_days": {level id: days of the
        first active level above it}, "hold_ids": levels that put on hold}.
        """
        # sudo: levels are read for the figures, whoever asks for them.
        levels = (
            self.env["sale.reconciliation.followup.level"]
            .sudo()
            .with_context(active_test=False)
            .search([("company_id", "=", company.id)])
        )
        active = sorted((level.days, level.id) for level in levels if level.active)
        return {
            "active": active,
            "next_days": {
                level.id: next((d for d, _id in active if d > level.days), None)
                for level in levels
            },
            "hold_ids": tuple(levels.filtered("credit_hold").ids),
        }

    def _followup_level_columns(self, levels, today):
        """SQL expressions of a ``netted`` item: ``lvl_days``, the days of the
        highest active level its age reaches (NULL before the first);
        ``nxt_days``, those of the first active level above the one it was
        reminded at (``reached_id``); ``held``, whether it was reminded at a
        level that puts on hold. Levels are few: CASEs, not joins."""
        age = SQL("(%s - netted.date_maturity)", today)
        active = levels["active"]
        lvl_days = (
            SQL(
                "CASE %s END",
                SQL(" ").join(
                    SQL("WHEN %s >= %s THEN %s", age, days, days)
                    for days, _id in reversed(active)
                ),
            )
            if active
            else SQL("NULL::integer")
        )
        first_days = active[0][0] if active else None
        # An item reminded at no level (or at another company's) waits for
        # the first one.
        whens = [
            SQL("WHEN netted.reached_id = %s THEN %s::integer", level_id, days)
            for level_id, days in levels["next_days"].items()
        ]
        nxt_days = (
            SQL("CASE %s ELSE %s::integer END", SQL(" ").join(whens), first_days)
            if whens
            else SQL("%s::integer", first_days)
        )
        held = (
            SQL("netted.reached_id IN %s", levels["hold_ids"])
            if levels["hold_ids"]
            else SQL("FALSE")
        )
        return lvl_days, nxt_days, held

    @api.model
    def _followup_query(self, company, today, partner_ids=None):
        """{customer: figures} of the customers of ``company`` with an open
        item (of ``partner_ids`` only, when given), in one grouped query,
        net of the customer's credits (see _followup_netted_sql), in the
        company's currency: overdue amount, oldest due date still owed, the
        level to remind them at today (the highest level reached by an item
        still owed and not yet reminded at it), the next follow-up date, what
        a reminder would list, what of it keeps a follow-up hold (items
        reminded at a hold level, in dispute or not), what is overdue before
        the credits, and the unapplied credits."""
        if partner_ids is not None and not partner_ids:
            return {}
        self._followup_flush()
        levels = self._followup_levels(company)
        lvl_days, nxt_days, held = self._followup_level_columns(levels, today)
        rows = self.env.execute_query(
            SQL(
                """
                %(netted)s
                SELECT owed.*, COALESCE(credits.amount, 0)
                  FROM (
                SELECT customer.partner_id,
                       SUM(overdue), MIN(oldest_due), MAX(due_level_days),
                       MIN(next_date), SUM(reminder),
                       -- A follow-up hold is kept by what was reminded at a
                       -- hold level (in dispute or not) while the money the
                       -- company received does not cover it: a collection
                       -- still in hand does not lift it.
                       SUM(CASE WHEN customer.held_currency
                                     > COALESCE(credit.ledger_pool, 0)
                                THEN customer.held ELSE 0 END),
                       SUM(overdue_gross)
                  FROM (
                      SELECT partner.commercial_partner_id AS partner_id,
                             per_contact.currency_id,
                             SUM(overdue) AS overdue,
                             MIN(oldest_due) AS oldest_due,
                             MAX(due_level_days) AS due_level_days,
                             MIN(next_date) AS next_date,
                             SUM(reminder) AS reminder,
                             SUM(held) AS held,
                             SUM(held_currency) AS held_currency,
                             SUM(overdue_gross) AS overdue_gross
                        FROM (
                            -- per contact first: one join per contact, not
                            -- per item
                            SELECT partner_id, currency_id,
                                   COALESCE(SUM(net_company) FILTER (
                                       WHERE NOT disputed
                                         AND date_maturity < %(today)s), 0)
                                       AS overdue,
                                   MIN(date_maturity) FILTER (
                                       WHERE NOT disputed AND net > 0
                                         AND date_maturity < %(today)s)
                                       AS oldest_due,
                                   MAX(lvl_days) FILTER (
                                       WHERE NOT disputed AND net > 0
                                         AND nxt_days <= lvl_days)
                                       AS due_level_days,
                                   MIN(date_maturity + nxt_days) FILTER (
                                       WHERE NOT disputed AND net > 0)
                                       AS next_date,
                                   COALESCE(SUM(net_company) FILTER (
                                       WHERE NOT disputed AND net > 0
                                         AND lvl_days IS NOT NULL), 0)
                                       AS reminder,
                                   COALESCE(SUM(residual) FILTER (
                                       WHERE held), 0) AS held,
                                   COALESCE(SUM(residual_currency) FILTER (
                                       WHERE held), 0) AS held_currency,
                                   COALESCE(SUM(residual) FILTER (
                                       WHERE NOT disputed
                                         AND date_maturity < %(today)s), 0)
                                       AS overdue_gross
                              FROM (
                                  SELECT netted.*, %(lvl_days)s AS lvl_days,
                                         %(nxt_days)s AS nxt_days,
                                         %(held)s AS held
                                    FROM netted
                              ) item
                             GROUP BY partner_id, currency_id
                        ) per_contact
                        JOIN res_partner partner
                          ON partner.id = per_contact.partner_id
                       GROUP BY partner.commercial_partner_id,
                                per_contact.currency_id
                  ) customer
                  LEFT JOIN credit
                    ON credit.partner_id = customer.partner_id
                   AND credit.currency_id = customer.currency_id
                 GROUP BY customer.partner_id
                       ) owed (partner_id)
                  LEFT JOIN (
                       SELECT partner_id, SUM(amount) AS amount
                         FROM credit
                        GROUP BY partner_id
                  ) credits ON credits.partner_id = owed.partner_id
                """,
                netted=self._followup_netted_sql(company, today, partner_ids),
                lvl_days=lvl_days,
                nxt_days=nxt_days,
                held=held,
                today=today,
            )
        )
        level_ids = dict(levels["active"])
        result = {}
        for row in rows:
            values = dict(zip(EMPTY_FIGURES, row[1:], strict=True))
            values["due_level_id"] = level_ids.get(values["due_level_id"])
            result[row[0]] = values
        return result

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
        """{customer: [item]}: the instalments a reminder to these customers
        lists (those at a level and still owed net of the credits), oldest
        due first; each item a dict of ``move_id``, ``line_id``, ``level_id``
        (the level its age reaches), ``due``, ``currency_id``, ``residual``
        and ``amount`` (what it still owes, and net of the credits, in its
        currency) and ``amount_company``."""
        self._followup_flush()
        levels = self._followup_levels(company)
        lvl_days, _nxt_days, _held = self._followup_level_columns(levels, today)
        rows = self.env.execute_query_dict(
            SQL(
                """
                %(netted)s
                SELECT partner.commercial_partner_id AS partner_id, move_id,
                       line_id, lvl_days AS level_days, date_maturity AS due,
                       currency_id, residual_currency AS residual, net AS amount,
                       net_company AS amount_company
                  FROM (
                      SELECT netted.*, %(lvl_days)s AS lvl_days FROM netted
                  ) item
                  JOIN res_partner partner ON partner.id = item.partner_id
                 WHERE NOT disputed AND net > 0 AND lvl_days IS NOT NULL
                 ORDER BY date_maturity, line_id
                """,
                netted=self._followup_netted_sql(company, today, partner_ids),
                lvl_days=lvl_days,
            )
        )
        level_ids = dict(levels["active"])
        for row in rows:
            row["level_id"] = level_ids[row.pop("level_days")]
        result = {}
        for row in rows:
            result.setdefault(row.pop("partner_id"), []).append(row)
        return result

    @api.model
    def _followup_credits(self, company, today, partner_ids):
        """{customer: [credit]}: what the customer paid or was credited and
        is not applied to an invoice yet, as a reminder lists it: each
        unapplied payment or credit note (``line_id``, ``move_id``), payment
        without journal entry (``payment_id``) and collection still in a
        salesperson's or cashier's hands (``collection_id``), with ``date``,
        ``currency_id`` and ``amount`` (positive)."""
        self._followup_flush()
        self.env["account.payment"].flush_model(
            ["amount", "currency_id", "date", "move_id", "partner_id", "state"]
            + ["company_id", "payment_type", "partner_type"]
        )
        partners = self._partner_clause("partner.commercial_partner_id", partner_ids)
        rows = self.env.execute_query_dict(
            SQL(
                """
                SELECT partner.commercial_partner_id AS partner_id,
                       line.id AS line_id, line.move_id,
                       NULL::integer AS payment_id, NULL::integer AS collection_id,
                       line.date, line.currency_id,
                       -line.amount_residual_currency AS amount
                  FROM account_move_line line
                  JOIN account_account account ON account.id = line.account_id
                  JOIN res_partner partner ON partner.id = line.partner_id
                 WHERE %(credit_line)s AND %(partners)s
                 UNION ALL
                SELECT partner.commercial_partner_id, NULL, NULL, payment.id,
                       NULL, payment.date, payment.currency_id, payment.amount
                  FROM account_payment payment
                  JOIN res_partner partner ON partner.id = payment.partner_id
                 WHERE %(entryless_payment)s AND %(partners)s
                 UNION ALL
                SELECT partner.commercial_partner_id, NULL, NULL, NULL,
                       collection.id, collection.date, collection.currency_id,
                       collection.amount
                  FROM sale_reconciliation_collection collection
                  JOIN res_partner partner ON partner.id = collection.partner_id
                 WHERE %(pending_collection)s AND %(partners)s
                 ORDER BY 6, 2, 4, 5
                """,
                partners=partners,
                **self._followup_credit_clauses(company, today),
            )
        )
        result = {}
        for row in rows:
            result.setdefault(row.pop("partner_id"), []).append(row)
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
        wanted = [
            pid
            for pid, values in figures.items()
            if values["reminder_amount"] or _credits_to_match(values)
        ]
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
        ``{profile: {level, items, credits, amount, recipient}}`` (see
        _followup_items and _followup_credits; ``amount`` in the company's
        currency); customers with nothing due (or excluded) are left out."""
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
            if not due:
                continue
            items = profile_sudo._followup_items(company, today, due.partner_id.ids)
            credits = profile_sudo._followup_credits(company, today, due.partner_id.ids)
            for profile in due:
                partner = profile.partner_id
                lines = items.get(partner.id, [])
                result[profile] = {
                    "level": Level.browse(figures[partner.id]["due_level_id"]),
                    "items": lines,
                    "credits": credits.get(partner.id, []),
                    "amount": company.currency_id.round(
                        sum(line["amount_company"] for line in lines)
                    ),
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
        # One reminder at a time per customer: a credit manager's Process and
        # the daily run reminding the same customer at once queue here, and
        # PostgreSQL refuses the second once the first committed (its view is
        # older); Odoo retries it, and it then finds nothing due.
        self.env.cr.execute(
            SQL(
                "SELECT 1 FROM sale_reconciliation_credit_profile "
                "WHERE id = %s FOR NO KEY UPDATE",
                self.id,
            )
        )
        # sudo: the follow-up writes the history, the invoices' levels, the
        # customer's chatter and hold on behalf of the credit manager (rights
        # checked in _followup_send) or of the scheduled action.
        self_sudo = self.sudo()
        moves = self_sudo.env["account.move"].browse(
            sorted({item["move_id"] for item in values["items"]})
        )
        history = self_sudo.env["sale.reconciliation.followup.history"].create(
            {
                "profile_id": self.id,
                "partner_id": partner.id,
                "company_id": self.company_id.id,
                "level_id": level.id,
                "date": today,
                "sent_by_id": self.env.uid,
                "move_ids": [Command.set(moves.ids)],
                "amount": values["amount"],
                "recipient_id": recipient.id,
                "line_ids": [
                    Command.create(vals)
                    for vals in self._followup_history_lines_vals(values, today)
                ],
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
        self_sudo._followup_stamp_levels(values["items"])
        self_sudo.write({"followup_level_id": level.id, "followup_last_date": today})
        history.write({"message_id": message.id if message else False})
        return history

    @api.model
    def _followup_history_lines_vals(self, values, today):
        """The lines of a reminder: each instalment it lists, then each
        credit set against them, in their own currencies."""
        lines = [
            {
                "kind": "due",
                "move_id": item["move_id"],
                "move_line_id": item["line_id"],
                "level_id": item["level_id"],
                "date": item["due"],
                "days_overdue": (today - item["due"]).days,
                "currency_id": item["currency_id"],
                "amount_residual": item["residual"],
                "amount": item["amount"],
            }
            for item in values["items"]
        ]
        # The credits set against the instalments listed: those of their
        # currencies (the netting is per currency).
        currencies = {item["currency_id"] for item in values["items"]}
        lines += [
            {
                "kind": "credit",
                "move_id": credit["move_id"],
                "move_line_id": credit["line_id"],
                "payment_id": credit["payment_id"],
                "collection_id": credit["collection_id"],
                "date": credit["date"],
                "currency_id": credit["currency_id"],
                "amount_residual": credit["amount"],
                "amount": credit["amount"],
            }
            for credit in values.get("credits", [])
            if credit["currency_id"] in currencies
        ]
        return lines

    def _followup_stamp_levels(self, items):
        """Each instalment reminded keeps the level its age reached; its
        invoice, the highest level of its instalments.

        In SQL: the stamp is the follow-up's own, read by nothing else, and
        writing posted journal items through the ORM resynchronises their
        whole entry (most of the time of a reminder, measured on the bench).
        """
        if not items:
            return
        by_level = {}
        for item in items:
            by_level.setdefault(item["level_id"], []).append(item["line_id"])
        self.env["account.move.line"].flush_model(["followup_level_id"])
        self.env["account.move"].flush_model(["followup_level_id"])
        for level_id, line_ids in by_level.items():
            # Never lower: an instalment reminded at a higher level (before a
            # level was archived or moved) keeps it, and the hold it caused.
            self.env.execute_query(
                SQL(
                    """
                    UPDATE account_move_line line
                       SET followup_level_id = level.id
                      FROM sale_reconciliation_followup_level level
                     WHERE level.id = %s
                       AND line.id IN %s
                       AND NOT EXISTS (
                           SELECT 1
                             FROM sale_reconciliation_followup_level reached
                            WHERE reached.id = line.followup_level_id
                              AND reached.days >= level.days
                       )
                    """,
                    level_id,
                    tuple(line_ids),
                )
            )
        move_ids = tuple({item["move_id"] for item in items})
        self.env.execute_query(
            SQL(
                """
                UPDATE account_move move
                   SET followup_level_id = top.level_id
                  FROM (
                      SELECT DISTINCT ON (line.move_id)
                             line.move_id, level.id AS level_id
                        FROM account_move_line line
                        JOIN sale_reconciliation_followup_level level
                          ON level.id = line.followup_level_id
                       WHERE line.move_id IN %s
                       ORDER BY line.move_id, level.days DESC, level.id DESC
                  ) top
                 WHERE move.id = top.move_id
                   AND move.followup_level_id IS DISTINCT FROM top.level_id
                """,
                move_ids,
            )
        )
        self.env["account.move.line"].invalidate_model(["followup_level_id"])
        self.env["account.move"].invalidate_model(["followup_level_id"])

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
                            "what it reminded at a hold level is paid.",
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


def _credits_to_match(values):
    """Overdue invoices and unapplied credits of one customer: accounting
    should match them."""
    return values["credit_amount"] > 0 and values["overdue_gross_amount"] > 0
