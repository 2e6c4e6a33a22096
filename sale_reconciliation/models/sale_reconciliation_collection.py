"""Collections (业务员收款): money a salesperson collected from a customer,
handed over to a cashier who confirms what arrived."""

from psycopg2 import errors as pg_errors

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from .reconciliation_access import with_context_defaults

# Cashiers: the users of Odoo's invoicing, who register customer payments.
CASHIER_GROUP = "account.group_account_invoice"
# Accounting administrators may check a handover given to another cashier.
ACCOUNTING_MANAGER_GROUP = "account.group_account_manager"

COLLECTION_METHODS = [
    ("cash", "Cash"),
    ("cheque", "Cheque"),
    ("transfer", "Bank Transfer"),
    ("other", "Other"),
]

# Where the collection is in its workflow and what the cashier found: written
# by the action methods only, whoever calls write(), superuser included.
WORKFLOW_FIELDS = {
    "name",
    "state",
    "handover_date",
    "received_amount",
    "difference_reason",
    "journal_id",
    "payment_id",
    "confirmed_by_id",
    "confirmed_date",
    "rejection_reason",
}
# Fields a collection no longer in draft still lets the chatter write.
WRITABLE_AFTER_DRAFT_PREFIXES = ("message_", "activity_", "website_message_")


def check_draft_owner_write(records, vals, closed_error, owner_error):
    """What a collection and a handover share outside their actions: they
    change while in draft only (chatter and activities aside), by their
    salesperson only, who never gives them to another user; the superuser
    excepted. ``owner_error(record)`` is the message for another's record."""
    env = records.env
    frozen = {
        fname for fname in vals if not fname.startswith(WRITABLE_AFTER_DRAFT_PREFIXES)
    }
    if frozen and records.filtered(lambda record: record.state != "draft"):
        raise UserError(closed_error)
    if "user_id" in vals and vals["user_id"] != env.uid and not env.su:
        raise AccessError(_("A salesperson cannot give their collections to another."))
    others = records.filtered(lambda record: record.user_id != env.user)
    if frozen and others and not env.su:
        raise AccessError(owner_error(others[0]))


# The workflow's own writes carry this object in their context: a JSON-RPC
# client can set any context key, never to this object.
WORKFLOW_KEY = "sale_reconciliation_collection_workflow"
WORKFLOW_TOKEN = object()


def is_cashier(env):
    return env.su or env.user.has_group(CASHIER_GROUP)


class SaleReconciliationCollection(models.Model):
    _name = "sale.reconciliation.collection"
    _description = "Collection by a Salesperson"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "date desc, id desc"
    _check_company_auto = True
    _sql_constraints = [
        (
            "amount_positive",
            "CHECK(amount > 0)",
            "A collection is of a positive amount.",
        ),
        (
            "received_amount_positive",
            "CHECK(received_amount IS NULL OR received_amount >= 0)",
            "The amount received cannot be negative.",
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
        default=lambda self: self.env.company,
    )
    user_id = fields.Many2one(
        "res.users",
        string="Salesperson",
        required=True,
        index=True,
        tracking=True,
        default=lambda self: self.env.user,
        domain="[('share', '=', False)]",
        help="Who collected the money and hands it over.",
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        tracking=True,
        check_company=True,
    )
    currency_id = fields.Many2one(
        "res.currency",
        required=True,
        tracking=True,
        default=lambda self: self.env.company.currency_id,
    )
    state = fields.Selection(
        selection=[
            ("draft", "In Hand"),
            ("handed_over", "Handed Over"),
            ("confirmed", "Confirmed"),
            ("rejected", "Rejected"),
        ],
        required=True,
        default="draft",
        readonly=True,
        index=True,
        copy=False,
        tracking=True,
    )
    date = fields.Date(
        string="Collected On",
        required=True,
        tracking=True,
        default=fields.Date.context_today,
    )
    amount = fields.Monetary(
        required=True, tracking=True, help="What the customer paid the salesperson."
    )
    method = fields.Selection(
        selection=COLLECTION_METHODS,
        required=True,
        default="cash",
        tracking=True,
    )
    reference = fields.Char(
        tracking=True, help="Cheque number, or the reference of the transfer."
    )
    invoice_ids = fields.Many2many(
        "account.move",
        "sale_reconciliation_collection_invoice_rel",
        "collection_id",
        "move_id",
        string="Invoices",
        check_company=True,
        domain="[('move_type', '=', 'out_invoice'), ('state', '=', 'posted'), "
        "('commercial_partner_id', '=', commercial_partner_id), "
        "('payment_state', 'in', ('not_paid', 'partial'))]",
        help="The invoices the customer meant to pay: the payment is matched "
        "with them when the cashier confirms the collection.",
    )
    commercial_partner_id = fields.Many2one(related="partner_id.commercial_partner_id")
    receipt = fields.Binary(
        attachment=True, copy=False, help="A photo or scan of the receipt given."
    )
    receipt_filename = fields.Char(copy=False)
    note = fields.Text(string="Notes")

    handover_id = fields.Many2one(
        "sale.reconciliation.collection.handover",
        index="btree_not_null",
        copy=False,
        # Deleting a draft handover gives its collections back to the hand.
        ondelete="set null",
        check_company=True,
    )
    handover_date = fields.Date(string="Handed Over On", readonly=True, copy=False)
    cashier_id = fields.Many2one(related="handover_id.cashier_id")
    received_amount = fields.Monetary(
        readonly=True,
        copy=False,
        help="What the cashier found when confirming the collection.",
    )
    difference = fields.Monetary(
        compute="_compute_difference",
        store=True,
        help="Received less collected: negative when short, positive when over.",
    )
    difference_reason = fields.Text(
        string="Reason for the Difference", readonly=True, copy=False, tracking=True
    )
    journal_id = fields.Many2one(
        "account.journal",
        string="Received In",
        readonly=True,
        copy=False,
        check_company=True,
    )
    payment_id = fields.Many2one(
        "account.payment",
        readonly=True,
        copy=False,
        index="btree_not_null",
        groups="account.group_account_invoice,account.group_account_readonly",
    )
    confirmed_by_id = fields.Many2one(
        "res.users", string="Checked By", readonly=True, copy=False
    )
    confirmed_date = fields.Datetime(string="Checked On", readonly=True, copy=False)
    rejection_reason = fields.Text(readonly=True, copy=False, tracking=True)
    days_in_hand = fields.Integer(
        compute="_compute_days_in_hand",
        help="Days since the money was collected, while the salesperson holds it.",
    )

    # -------------------------------------------------------------------------
    # COMPUTE METHODS
    # -------------------------------------------------------------------------

    @api.depends("state", "amount", "received_amount")
    def _compute_difference(self):
        for collection in self:
            collection.difference = (
                collection.received_amount - collection.amount
                if collection.state == "confirmed"
                else 0.0
            )

    @api.depends("state", "date")
    @api.depends_context("tz")
    def _compute_days_in_hand(self):
        today = fields.Date.context_today(self)
        for collection in self:
            collection.days_in_hand = (
                (today - collection.date).days
                if collection.state == "draft" and collection.date
                else 0
            )

    # -------------------------------------------------------------------------
    # CONSTRAINTS
    # -------------------------------------------------------------------------

    @api.constrains("invoice_ids", "partner_id", "currency_id")
    def _check_invoices(self):
        for collection in self:
            wrong = collection.invoice_ids.filtered(
                lambda move, c=collection: move.move_type != "out_invoice"
                or move.state != "posted"
                or move.commercial_partner_id != c.partner_id.commercial_partner_id
            )
            if wrong:
                raise ValidationError(
                    _(
                        "Collection %(name)s can pay only posted invoices of "
                        "%(customer)s, not %(invoices)s.",
                        name=collection.name,
                        customer=collection.partner_id.commercial_partner_id.name,
                        invoices=", ".join(wrong.mapped("display_name")),
                    )
                )

    @api.constrains("handover_id", "user_id", "currency_id", "company_id")
    def _check_handover(self):
        for collection in self.filtered("handover_id"):
            handover = collection.handover_id
            if (
                collection.user_id != handover.user_id
                or collection.currency_id != handover.currency_id
                or collection.company_id != handover.company_id
            ):
                raise ValidationError(
                    _(
                        "Collection %(name)s cannot go in handover %(handover)s: "
                        "a handover holds collections of its salesperson, company "
                        "and currency only.",
                        name=collection.name,
                        handover=handover.name,
                    )
                )

    # -------------------------------------------------------------------------
    # CRUD
    # -------------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            seen = with_context_defaults(self, vals, WORKFLOW_FIELDS | {"user_id"})
            given = {
                fname
                for fname in WORKFLOW_FIELDS & set(seen)
                if seen[fname]
                and not (fname == "state" and seen[fname] == "draft")
                and not (fname == "name" and seen[fname] == "/")
            }
            if given:
                raise UserError(
                    _(
                        "A new collection is in the salesperson's hands, numbered "
                        "by Odoo: %(fields)s cannot be given.",
                        fields=self._field_labels(given),
                    )
                )
            if seen.get("user_id", self.env.uid) != self.env.uid and not self.env.su:
                raise AccessError(
                    _("Users record the collections they made themselves only.")
                )
        for vals in vals_list:
            company = self.env["res.company"].browse(
                vals.get("company_id") or self.env.company.id
            )
            vals["name"] = self.env["ir.sequence"].with_company(company).next_by_code(
                "sale.reconciliation.collection"
            ) or _("New")
        collections = super().create(vals_list)
        collections.filtered("handover_id")._check_handover_open()
        return collections

    def write(self, vals):
        fnames = set(vals)
        if fnames & WORKFLOW_FIELDS and not self._is_workflow_write():
            raise UserError(
                _(
                    "The state and the cashier's findings of a collection "
                    "(%(fields)s) change only through its actions (hand over, "
                    "confirm, reject).",
                    fields=self._field_labels(fnames & WORKFLOW_FIELDS),
                )
            )
        if not self._is_workflow_write():
            check_draft_owner_write(
                self,
                vals,
                _(
                    "A collection handed over to the cashier cannot change "
                    "any more: only the cashier's confirmation or rejection "
                    "settles it."
                ),
                lambda other: _(
                    "Collection %(name)s is %(user)s's record of what they "
                    "collected: only they change it.",
                    name=other.name,
                    user=other.user_id.name,
                ),
            )
            if "handover_id" in fnames:
                self._check_handover_open()
        result = super().write(vals)
        if "handover_id" in fnames and not self._is_workflow_write():
            self._check_handover_open()
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_except_handed_over(self):
        for collection in self:
            if collection.state != "draft":
                raise UserError(
                    _(
                        "Collection %(name)s was handed over to the cashier: it "
                        "cannot be deleted.",
                        name=collection.name,
                    )
                )

    # -------------------------------------------------------------------------
    # ACTIONS
    # -------------------------------------------------------------------------

    def action_create_handover(self):
        """Group these collections in a new handover and open it."""
        if not self:
            raise UserError(_("Select the collections to hand over."))
        if self.filtered(lambda c: c.state != "draft" or c.handover_id):
            raise UserError(
                _("Only collections still in hand, in no handover, can be grouped.")
            )
        if (
            len(self.user_id) > 1
            or len(self.company_id) > 1
            or len(self.currency_id) > 1
        ):
            raise UserError(
                _(
                    "A handover holds the collections of one salesperson, in one "
                    "company and one currency."
                )
            )
        handover = self.env["sale.reconciliation.collection.handover"].create(
            {
                "user_id": self.user_id.id,
                "company_id": self.company_id.id,
                "currency_id": self.currency_id.id,
            }
        )
        self.write({"handover_id": handover.id})
        return handover._get_records_action(name=_("Handover"))

    def action_confirm(self, received_amount, journal_id, difference_reason=None):
        """The cashier confirms what arrived of this collection: a customer
        payment of ``received_amount`` in the journal ``journal_id`` (cash or
        bank), matched with the collection's invoices. A difference with the
        amount collected needs ``difference_reason``."""
        self.ensure_one()
        self._check_cashier(_("confirm"))
        self._lock_for_checking()
        journal = self.env["account.journal"].browse(int(journal_id or 0)).exists()
        if (
            not journal
            or journal.type not in ("cash", "bank")
            or journal.company_id != self.company_id
        ):
            raise UserError(
                _(
                    "Choose a cash or bank journal of %(company)s to receive "
                    "collection %(name)s in.",
                    company=self.company_id.name,
                    name=self.name,
                )
            )
        received_amount = self.currency_id.round(float(received_amount or 0.0))
        if received_amount <= 0:
            raise UserError(
                _(
                    "Nothing arrived of collection %(name)s: reject it, saying why, "
                    "instead of confirming it.",
                    name=self.name,
                )
            )
        difference_reason = (difference_reason or "").strip()
        difference = self.currency_id.compare_amounts(received_amount, self.amount)
        if difference and not difference_reason:
            raise UserError(
                _(
                    "Collection %(name)s was of %(amount)s and %(received)s arrived: "
                    "say why they differ.",
                    name=self.name,
                    amount=self._format(self.amount),
                    received=self._format(received_amount),
                )
            )
        payment = self._create_payment(received_amount, journal)
        self._write_workflow(
            {
                "state": "confirmed",
                "received_amount": received_amount,
                "difference_reason": difference_reason if difference else False,
                "journal_id": journal.id,
                "payment_id": payment.id,
                "confirmed_by_id": self.env.user.id,
                "confirmed_date": fields.Datetime.now(),
            }
        )
        refusal = self._match_payment(payment)
        body = _(
            "Confirmed by %(user)s: %(received)s received in %(journal)s, payment "
            "%(payment)s.",
            user=self.env.user.name,
            received=self._format(received_amount),
            journal=journal.display_name,
            payment=payment.name,
        )
        if difference:
            body = _(
                "%(body)s Difference of %(difference)s: %(reason)s",
                body=body,
                difference=self._format(self.difference),
                reason=difference_reason,
            )
        if refusal:
            body = _(
                "%(body)s The payment could not be matched with the invoices: "
                "%(refusal)s",
                body=body,
                refusal=refusal,
            )
        self.message_post(body=body)
        self.handover_id._update_state_after_check()
        return True

    def action_reject(self, reason):
        """The cashier refuses this collection (nothing or something else
        arrived): it stays visible, rejected, with the reason."""
        self.ensure_one()
        self._check_cashier(_("reject"))
        reason = (reason or "").strip()
        if not reason:
            raise UserError(
                _("Say why collection %(name)s is rejected.", name=self.name)
            )
        self._lock_for_checking()
        self._write_workflow(
            {
                "state": "rejected",
                "rejection_reason": reason,
                "confirmed_by_id": self.env.user.id,
                "confirmed_date": fields.Datetime.now(),
            }
        )
        self.message_post(
            body=_(
                "Rejected by %(user)s: %(reason)s",
                user=self.env.user.name,
                reason=reason,
            )
        )
        self.handover_id._update_state_after_check()
        return True

    def action_open_payment(self):
        self.ensure_one()
        return self.payment_id._get_records_action()

    # -------------------------------------------------------------------------
    # BUSINESS METHODS
    # -------------------------------------------------------------------------

    def _field_labels(self, fnames):
        return ", ".join(
            sorted(
                self._fields[fname]._description_string(self.env)
                for fname in fnames
                if fname in self._fields
            )
        )

    def _format(self, amount):
        return self.currency_id.format(amount)

    def _write_workflow(self, vals):
        """Write workflow fields: for the action methods only."""
        return self.with_context(**{WORKFLOW_KEY: WORKFLOW_TOKEN}).write(vals)

    def _is_workflow_write(self):
        return self.env.context.get(WORKFLOW_KEY) is WORKFLOW_TOKEN

    def _check_handover_open(self):
        """Collections join or leave a handover only while both are drafts."""
        for collection in self:
            if collection.state != "draft" or (
                collection.handover_id and collection.handover_id.state != "draft"
            ):
                raise UserError(
                    _(
                        "Collection %(name)s can join or leave a handover only "
                        "while both are still drafts.",
                        name=collection.name,
                    )
                )

    def _check_cashier(self, what):
        """Only a cashier checks a collection, never the salesperson who
        collected it, even calling as superuser; the handover's cashier or an
        accounting administrator."""
        self.ensure_one()
        user = self.env.user
        if user == self.user_id:
            raise AccessError(
                _(
                    "You collected %(name)s: another user, the cashier, must "
                    "%(what)s it.",
                    name=self.name,
                    what=what,
                )
            )
        if not is_cashier(self.env):
            raise AccessError(
                _(
                    "Only cashiers (users of Invoicing) may %(what)s collections.",
                    what=what,
                )
            )
        cashier = self.handover_id.cashier_id
        if (
            cashier
            and cashier != user
            and not self.env.su
            and not user.has_group(ACCOUNTING_MANAGER_GROUP)
        ):
            raise AccessError(
                _(
                    "Handover %(handover)s was given to %(cashier)s: only they or "
                    "an accounting administrator may %(what)s its collections.",
                    handover=self.handover_id.name,
                    cashier=cashier.name,
                    what=what,
                )
            )

    def _lock_for_checking(self):
        """Lock the collection and its handover rows until the transaction
        ends, then check it still waits for the cashier: of two cashiers
        checking it at once, the second is told at once, and a check that
        started before another committed is refused by PostgreSQL (Odoo
        retries it and then sees the collection checked)."""
        self.ensure_one()
        self.flush_recordset()
        busy = _(
            "Collection %(name)s is being checked by another user right now. Try "
            "again in a moment.",
            name=self.name,
        )
        try:
            # A savepoint keeps the transaction usable when a lock is refused.
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    SQL(
                        "SELECT 1 FROM sale_reconciliation_collection_handover "
                        "WHERE id = %s FOR UPDATE NOWAIT",
                        self.handover_id.id or 0,
                    )
                )
                self.env.cr.execute(
                    SQL(
                        "SELECT 1 FROM sale_reconciliation_collection "
                        "WHERE id = %s FOR UPDATE NOWAIT",
                        self.id,
                    )
                )
        except pg_errors.LockNotAvailable:
            raise UserError(busy) from None
        self.invalidate_recordset(["state"])
        if self.state != "handed_over" or not self.handover_id:
            state = dict(self._fields["state"]._description_selection(self.env))
            raise UserError(
                _(
                    "Collection %(name)s is %(state)s: only a collection handed "
                    "over and not yet checked can be confirmed or rejected.",
                    name=self.name,
                    state=state[self.state],
                )
            )

    def _prepare_payment_vals(self, received_amount, journal):
        self.ensure_one()
        return {
            "payment_type": "inbound",
            "partner_type": "customer",
            "partner_id": self.partner_id.commercial_partner_id.id,
            "company_id": self.company_id.id,
            "journal_id": journal.id,
            "amount": received_amount,
            "currency_id": self.currency_id.id,
            "date": fields.Date.context_today(self),
            "memo": " ".join(filter(None, [self.name, self.reference])),
        }

    def _create_payment(self, received_amount, journal):
        payment = (
            self.env["account.payment"]
            .with_company(self.company_id)
            .create(self._prepare_payment_vals(received_amount, journal))
        )
        payment.action_post()
        return payment

    def _match_payment(self, payment):
        """Match the payment with the collection's invoices through the
        payment matching's own reconciliation (each proposal in a savepoint,
        Odoo's refusal kept). Returns why it was not matched, or None."""
        self.ensure_one()
        credit = payment.move_id.line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
            and not line.reconciled
        )
        if not self.invoice_ids or not credit:
            return None
        debits = self.invoice_ids.line_ids.filtered(
            lambda line: line.account_id == credit.account_id
            and line.currency_id == credit.currency_id
            and not line.reconciled
            and line.amount_residual_currency > 0
        )
        if not debits:
            return _("its invoices are paid already or in another currency.")
        match = self.env["sale.reconciliation.match"].create(
            {
                "company_id": self.company_id.id,
                "partner_ids": [fields.Command.set(payment.partner_id.ids)],
                "rules": "reference",
                "state": "preview",
                "line_ids": [
                    fields.Command.create(
                        {
                            "rule": "reference",
                            "partner_id": payment.partner_id.id,
                            "account_id": credit.account_id.id,
                            "currency_id": credit.currency_id.id,
                            "credit_line_id": credit.id,
                            "debit_line_ids": [fields.Command.set(debits.ids)],
                            "amount": min(
                                -credit.amount_residual_currency,
                                sum(debits.mapped("amount_residual_currency")),
                            ),
                        }
                    )
                ],
            }
        )
        _matched, refused = match.line_ids._reconcile()
        if not refused:
            debits.move_id.matched_payment_ids += payment
        return refused.refusal or None
