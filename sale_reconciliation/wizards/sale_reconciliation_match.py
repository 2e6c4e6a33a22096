from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..models.payment_matching import (
    MATCH_RULES,
    OPEN_ITEM_FIELDS,
    PARTNER_BATCH_SIZE,
    RECONCILE_BATCH_SIZE,
    CustomerMatcher,
    check_rules,
    parse_rules,
)


class SaleReconciliationMatch(models.TransientModel):
    """Propose which customer payments and credit notes settle which open
    invoices, show the proposals, and reconcile the ticked ones through
    Odoo's own reconciliation."""

    _name = "sale.reconciliation.match"
    _description = "Match Payments with Invoices"
    _check_company_auto = True

    company_id = fields.Many2one(
        comodel_name="res.company",
        required=True,
        default=lambda self: self.env.company,
    )
    partner_ids = fields.Many2many(
        comodel_name="res.partner",
        string="Customers",
        help="Leave empty to match every customer of the company.",
    )
    date_from = fields.Date(
        help="Payments and credit notes dated from this day only.",
    )
    date_to = fields.Date(
        help="Payments and credit notes dated up to this day only.",
    )
    rules = fields.Char(
        string="Strategies",
        required=True,
        default=lambda self: self.env.company.match_rules,
        help="Rules tried in this order, comma-separated: reference (the memo "
        "names the invoice), amount (one invoice of exactly the amount), "
        "combination (several invoices summing exactly to it), fifo (oldest "
        "due first, partial matches included).",
    )
    state = fields.Selection(
        selection=[("scope", "Scope"), ("preview", "Preview"), ("done", "Done")],
        default="scope",
        required=True,
    )
    line_ids = fields.One2many(
        comodel_name="sale.reconciliation.match.line",
        inverse_name="wizard_id",
        string="Proposals",
    )
    currency_id = fields.Many2one(related="company_id.currency_id")

    # -------------------------------------------------------------------------
    # DEFAULTS
    # -------------------------------------------------------------------------

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        context = self.env.context
        active_ids = context.get("active_ids") or []
        if "partner_ids" in fields_list and active_ids:
            records = self.env[context.get("active_model") or "res.partner"].browse(
                active_ids
            )
            partners = self.env["res.partner"]
            if records._name == "res.partner":
                partners = records
            elif records._name in ("account.move", "account.payment"):
                partners = records.partner_id
            if partners:
                values["partner_ids"] = [
                    fields.Command.set(partners.commercial_partner_id.ids)
                ]
        return values

    # -------------------------------------------------------------------------
    # CONSTRAINTS
    # -------------------------------------------------------------------------

    @api.constrains("rules")
    def _check_rules(self):
        for wizard in self:
            check_rules(wizard.rules)

    # -------------------------------------------------------------------------
    # ACTIONS
    # -------------------------------------------------------------------------

    def action_preview(self):
        self.ensure_one()
        self.line_ids.unlink()
        proposals = self._compute_proposals(parse_rules(self.rules))
        self.write(
            {
                "state": "preview",
                "line_ids": [fields.Command.create(vals) for vals in proposals],
            }
        )
        return self._reopen()

    def action_back(self):
        self.ensure_one()
        self.line_ids.unlink()
        self.state = "scope"
        return self._reopen()

    def action_apply(self):
        """Reconcile the ticked proposals, each on its own: one Odoo refuses
        changes nothing and is shown with Odoo's reason, the others are
        matched."""
        self.ensure_one()
        if self.state != "preview":
            raise UserError(_("Preview the proposals before matching them."))
        selected = self.line_ids.filtered(
            lambda line: line.selected and line.state == "proposed"
        )
        if not selected:
            raise UserError(_("Tick at least one proposal to match."))
        matched, refused = selected._reconcile()
        self.state = "done"
        if refused:
            return self._reopen()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": _(
                    "%(count)s payments and credit notes matched with invoices.",
                    count=len(matched),
                ),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": _("Match Payments"),
        }

    # -------------------------------------------------------------------------
    # SCHEDULED ACTION
    # -------------------------------------------------------------------------

    @api.model
    def _cron_match(self):
        """The scheduled action: match, in every company, what needs no
        judgement (the memo names the invoice, or one invoice has exactly the
        amount), a chunk of customers per call and transaction
        (``sale.reconciliation.match.run``)."""
        return self.env["sale.reconciliation.match.run"]._cron_process()

    # -------------------------------------------------------------------------
    # PROPOSALS
    # -------------------------------------------------------------------------

    def _get_open_items_domain(self):
        self.ensure_one()
        domain = [
            ("company_id", "=", self.company_id.id),
            ("account_id.account_type", "=", "asset_receivable"),
            ("parent_state", "=", "posted"),
            ("reconciled", "=", False),
            ("partner_id", "!=", False),
            ("amount_residual_currency", "!=", 0.0),
        ]
        if self.partner_ids:
            domain.append(
                ("partner_id.commercial_partner_id", "in", self.partner_ids.ids)
            )
        return domain

    def _compute_proposals(self, rules):
        """Proposal values, customer by customer: open items are loaded for a
        batch of customers at a time, never for all at once."""
        self.ensure_one()
        MoveLine = self.env["account.move.line"]
        domain = self._get_open_items_domain()
        partner_ids = sorted(
            {
                partner.commercial_partner_id.id
                for [partner] in MoveLine._read_group(domain, ["partner_id"])
            }
        )
        proposals = []
        for start in range(0, len(partner_ids), PARTNER_BATCH_SIZE):
            batch = partner_ids[start : start + PARTNER_BATCH_SIZE]
            items = MoveLine.search_fetch(
                domain + [("partner_id.commercial_partner_id", "in", batch)],
                OPEN_ITEM_FIELDS,
                order="date_maturity, date, id",
            )
            # What Odoo's reconcile() takes together: one company, one
            # account; and one customer, in one currency, for the rules.
            groups = items.grouped(
                lambda line: (
                    line.company_id,
                    line.partner_id.commercial_partner_id,
                    line.account_id,
                    line.currency_id,
                )
            )
            for (_company, partner, account, currency), lines in groups.items():
                proposals += self._match_customer(
                    partner, account, currency, lines, rules
                )
            self.env.invalidate_all()
        return proposals

    def _match_customer(self, partner, account, currency, lines, rules):
        """Proposals for one customer's open items on one receivable account
        in one currency."""
        debits = lines.filtered(lambda line: line.amount_residual_currency > 0)
        credits = (lines - debits).filtered(self._in_date_scope)
        if not debits or not credits:
            return []
        matcher = CustomerMatcher(currency.rounding, debits, credits)
        for rule in rules:
            matcher.apply_rule(rule)
        return [
            {
                "rule": rule,
                "partner_id": partner.id,
                "account_id": account.id,
                "currency_id": currency.id,
                "credit_line_id": credit.id,
                "debit_line_ids": [fields.Command.set([debit.id for debit in chosen])],
                "amount": amount,
            }
            for rule, credit, chosen, amount in matcher.proposals
        ]

    def _in_date_scope(self, line):
        return (not self.date_from or line.date >= self.date_from) and (
            not self.date_to or line.date <= self.date_to
        )


class SaleReconciliationMatchLine(models.TransientModel):
    _name = "sale.reconciliation.match.line"
    _description = "Payment Matching Proposal"
    _order = "partner_id, id"

    wizard_id = fields.Many2one(
        comodel_name="sale.reconciliation.match",
        required=True,
        ondelete="cascade",
    )
    selected = fields.Boolean(string="Match", default=True)
    rule = fields.Selection(selection=MATCH_RULES, required=True, readonly=True)
    partner_id = fields.Many2one(
        comodel_name="res.partner", string="Customer", readonly=True
    )
    account_id = fields.Many2one(
        comodel_name="account.account", string="Receivable Account", readonly=True
    )
    currency_id = fields.Many2one(comodel_name="res.currency", readonly=True)
    credit_line_id = fields.Many2one(
        comodel_name="account.move.line",
        string="Payment or Credit Note",
        required=True,
        readonly=True,
    )
    credit_move_id = fields.Many2one(related="credit_line_id.move_id", string="Paid By")
    credit_date = fields.Date(related="credit_line_id.date", string="Date")
    debit_line_ids = fields.Many2many(
        comodel_name="account.move.line",
        string="Invoices",
        readonly=True,
    )
    invoice_names = fields.Char(
        string="Invoices Settled", compute="_compute_invoice_names"
    )
    amount = fields.Monetary(
        string="Matched Amount",
        readonly=True,
        help="What this proposal settles, in the items' currency.",
    )
    state = fields.Selection(
        selection=[
            ("proposed", "Proposed"),
            ("matched", "Matched"),
            ("refused", "Refused"),
        ],
        string="Result",
        default="proposed",
        required=True,
        readonly=True,
    )
    refusal = fields.Text(
        string="Why Refused",
        readonly=True,
        help="Why this proposal was not matched: nothing of it was.",
    )

    @api.depends("debit_line_ids.move_name")
    def _compute_invoice_names(self):
        for line in self:
            line.invoice_names = ", ".join(line.debit_line_ids.mapped("move_name"))

    def _describe(self):
        self.ensure_one()
        return (
            f"{self.credit_line_id.move_name} -> "
            f"{', '.join(self.debit_line_ids.mapped('move_name'))}"
        )

    def _get_incoherence(self):
        """Why this proposal may not be reconciled, or None: it must settle
        invoices of one customer of the wizard's company with one of its
        payments or credit notes, on one receivable account in one currency,
        as the wizard proposes. Whether they are still open is Odoo's
        ``reconcile()`` to say."""
        self.ensure_one()
        credit = self.credit_line_id
        items = credit | self.debit_line_ids
        if (
            not self.debit_line_ids
            or credit in self.debit_line_ids
            or items.company_id != self.wizard_id.company_id
            or len(items.account_id) != 1
            or items.account_id.account_type != "asset_receivable"
            or len(items.currency_id) != 1
            or items.partner_id.commercial_partner_id != self.partner_id
            or credit.amount_currency >= 0
            or any(debit.amount_currency <= 0 for debit in self.debit_line_ids)
        ):
            return _(
                "This proposal does not settle invoices of one customer of "
                "the company with one of its payments or credit notes, on one "
                "receivable account and in one currency."
            )
        return None

    def _reconcile(self):
        """Reconcile the proposals with Odoo's own ``reconcile()``, one after
        the other in their order (an invoice partly settled by one payment
        may be settled by the next). A proposal Odoo refuses (its invoice
        reset to draft or paid since the preview, an exchange difference
        without an exchange journal, ...) changes nothing and is marked
        refused with Odoo's reason; the others are reconciled.
        Returns the proposals matched and those refused."""
        # What the proposals are made of does not change when others are
        # reconciled: check them all at once, with their items read together.
        (self.credit_line_id | self.debit_line_ids).fetch(
            ["company_id", "account_id", "currency_id", "partner_id", "amount_currency"]
        )
        reasons = {line: line._get_incoherence() for line in self}
        reasons.update(
            self._reconcile_in_batches([line for line in self if not reasons[line]])
        )
        matched = self.browse([line.id for line in self if not reasons[line]])
        matched.write({"state": "matched", "refusal": False})
        refused = self.browse()
        for line in self:
            if reasons[line]:
                line.write({"state": "refused", "refusal": reasons[line]})
                refused |= line
        return matched, refused

    def _reconcile_in_batches(self, lines):
        """Reconcile ``lines`` in their order, RECONCILE_BATCH_SIZE of them
        in one savepoint: a savepoint flushes, and so runs what Odoo and this
        module do before a commit (the invoices' tracking messages, the queues
        of figures to refresh), once a batch instead of once a proposal. When
        Odoo refuses one of a batch, the batch is undone; the proposals before
        the refused one are reconciled again in a batch of their own, then the
        refused one is tried first of the next batch, in the state it met:
        refused again, it changes nothing and gives Odoo's reason. The result
        is the same as with one savepoint per proposal.

        :return: {line: Odoo's reason, or None when reconciled}
        """
        reasons = {}
        pending = list(lines)
        size = RECONCILE_BATCH_SIZE
        while pending:
            batch = pending[:size]
            reconciled = 0
            try:
                with self.env.cr.savepoint():
                    for line in batch:
                        (line.credit_line_id | line.debit_line_ids).reconcile()
                        reconciled += 1
            except UserError as error:
                if not reconciled or len(batch) == 1:
                    reasons[batch[0]] = str(error)
                    pending = pending[1:]
                    size = RECONCILE_BATCH_SIZE
                elif reconciled < len(batch):
                    # Those before it were reconciled: again, on their own.
                    size = reconciled
                else:
                    # Refused when the batch was flushed, by one not known.
                    size = len(batch) // 2
                continue
            reasons.update(dict.fromkeys(batch))
            pending = pending[len(batch) :]
            size = RECONCILE_BATCH_SIZE
        return reasons
