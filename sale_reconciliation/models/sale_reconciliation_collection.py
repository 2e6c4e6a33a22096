"""Collections (业务员收款): money a salesperson collected from a customer,
handed over to a cashier who confirms what arrived."""

from psycopg2 import errors as pg_errors

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from .reconciliation_access import (
    MANAGER_GROUP,
    WorkflowGuard,
    given_fields,
    with_context_defaults,
)

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

# Where an over-receipt goes, the cashier's choice when confirming.
OVER_RECEIPT_CHOICES = [
    ("customer", "Customer's Credit"),
    ("account", "Difference Account"),
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
    "difference_account_id",
    "payment_id",
    "confirmed_by_id",
    "confirmed_date",
    "rejection_reason",
}
# Account types a payment's write-off line cannot use: account.payment reads
# such a line as its receivable/payable counterpart or as its liquidity.
DIFFERENCE_ACCOUNT_REFUSED = (
    "asset_receivable",
    "liability_payable",
    "asset_cash",
    "liability_credit_card",
    "off_balance",
)
# What a collection says of the money of its sales period: frozen while that
# period is closed, as the amounts of its orders are.
PERIOD_FIELDS = {
    "date",
    "amount",
    "currency_id",
    "company_id",
    "partner_id",
    "method",
    "user_id",
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


def check_own_unlink(records, manager_error, owner_error):
    """A draft collection or handover is deleted by its salesperson through
    unlink(); anybody else's unlink() is refused, a reconciliation manager
    being told to give a reason (action_delete, which deletes as superuser
    once it has checked who asks and posted the reason). The superuser
    excepted, as for write()."""
    env = records.env
    others = records.filtered(lambda record: record.user_id != env.user)
    if not others or env.su:
        return
    if env.user.has_group(MANAGER_GROUP):
        raise UserError(manager_error(others[0]))
    raise AccessError(owner_error(others[0]))


def delete_with_reason(records, reason, post_reason):
    """Delete ``records`` (collections or handovers) for their salesperson or
    a reconciliation manager, who must say why. The records disappear with
    their chatter, so ``post_reason(reason)`` posts the reason where it stays
    (the customer, the salesperson) before they go. Returns True."""
    env = records.env
    reason = (reason or "").strip()
    if not reason:
        raise UserError(
            _("Say why you delete %(names)s.", names=", ".join(records.mapped("name")))
        )
    # The user's own access (rules included) to what they delete.
    records.check_access("unlink")
    others = records.filtered(lambda record: record.user_id != env.user)
    if others and not (env.su or env.user.has_group(MANAGER_GROUP)):
        raise AccessError(
            _(
                "Only %(user)s or a reconciliation manager may delete %(name)s.",
                user=others[0].user_id.name,
                name=others[0].name,
            )
        )
    post_reason(reason)
    # sudo: unlink - who asks and why was checked above; the deletion guards
    # (draft only, open sales period) still apply to the superuser.
    records.sudo().unlink()
    return True


WORKFLOW_GUARD = WorkflowGuard("sale_reconciliation_collection_workflow")


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
    difference_account_id = fields.Many2one(
        "account.account",
        string="Difference Booked On",
        readonly=True,
        copy=False,
        check_company=True,
        help="The company's collection difference account, where the cashier's "
        "check booked the difference; empty when there was none or when an "
        "over-receipt was left to the customer's credit.",
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
            seen = with_context_defaults(self, vals, {"user_id"})
            given = given_fields(
                self, vals, WORKFLOW_FIELDS, initial={"state": "draft", "name": "/"}
            )
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
            # The date and company the record gets, defaults included.
            dated = with_context_defaults(self, vals, {"date", "company_id"})
            day = fields.Date.to_date(dated.get("date")) or (
                fields.Date.context_today(self)
            )
            company = self.env["res.company"].browse(
                dated.get("company_id") or self.env.company.id
            )
            period = self._find_closed_sales_period(company, day)
            if period:
                raise UserError(
                    _(
                        "The sales period %(period)s is closed: no collection "
                        "is recorded on %(date)s.",
                        period=period.name,
                        date=day,
                    )
                )
        for vals in vals_list:
            company = self.env["res.company"].browse(
                vals.get("company_id") or self.env.company.id
            )
            vals["name"] = self.env["ir.sequence"].with_company(company).next_by_code(
                "sale.reconciliation.collection"
            ) or _("New")
        collections = super().create(vals_list)
        in_handover = collections.filtered("handover_id")
        in_handover._check_handover_open()
        in_handover._check_handover_match()
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
        # Whoever writes, superuser included: a closed sales period keeps its
        # collections as they were, and none is moved into it.
        if fnames & PERIOD_FIELDS:
            self._check_sales_period_open(_("change"))
        if fnames & {"date", "company_id"}:
            for collection in self:
                company = (
                    self.env["res.company"].browse(vals["company_id"])
                    if "company_id" in vals
                    else collection.company_id
                )
                day = (
                    fields.Date.to_date(vals["date"])
                    if "date" in vals
                    else collection.date
                )
                period = self._find_closed_sales_period(company, day)
                if period:
                    raise UserError(
                        _(
                            "Collection %(name)s cannot be dated in the closed "
                            "sales period %(period)s.",
                            name=collection.name,
                            period=period.name,
                        )
                    )
        result = super().write(vals)
        if "handover_id" in fnames and not self._is_workflow_write():
            self._check_handover_open()
        if fnames & {"handover_id", "currency_id", "company_id", "user_id"}:
            self._check_handover_match()
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

    @api.ondelete(at_uninstall=False)
    def _unlink_except_closed_period(self):
        self._check_sales_period_open(_("delete"))

    @api.ondelete(at_uninstall=False)
    def _unlink_except_another_salesperson(self):
        check_own_unlink(
            self,
            lambda other: _(
                "Collection %(name)s is %(user)s's record of what they "
                "collected: a reconciliation manager deletes it only giving "
                "the reason, which is posted on the customer (Action > Delete "
                "with a Reason).",
                name=other.name,
                user=other.user_id.name,
            ),
            lambda other: _(
                "Collection %(name)s is %(user)s's record of what they "
                "collected: only they, or a reconciliation manager giving a "
                "reason, may delete it.",
                name=other.name,
                user=other.user_id.name,
            ),
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

    def action_confirm(
        self, received_amount, journal_id, difference_reason=None, over_receipt=None
    ):
        """The cashier confirms what arrived of this collection: a customer
        payment of ``received_amount`` in the journal ``journal_id`` (cash or
        bank) that credits the customer with what the collection says they
        paid, matched with the collection's invoices. A difference with the
        amount collected needs ``difference_reason``. A shortfall goes to the
        company's collection difference account (Odoo's payment write-off); an
        over-receipt goes to the customer's credit, or to that account when
        ``over_receipt`` is ``"account"``."""
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
        over_receipt = over_receipt or "customer"
        if over_receipt not in dict(OVER_RECEIPT_CHOICES):
            raise UserError(
                _(
                    "An over-receipt goes to the customer's credit or to the "
                    "collection difference account, not to “%(choice)s”.",
                    choice=over_receipt,
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
        # A shortfall is never the customer's, who paid the amount collected;
        # an over-receipt is theirs unless the cashier says otherwise.
        to_account = difference < 0 or (difference > 0 and over_receipt == "account")
        account = self._get_difference_account(received_amount) if to_account else None
        payment = self._create_payment(received_amount, journal, account)
        self._write_workflow(
            {
                "state": "confirmed",
                "received_amount": received_amount,
                "difference_reason": difference_reason if difference else False,
                "journal_id": journal.id,
                "difference_account_id": account.id if account else False,
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
                "%(body)s Difference of %(difference)s (%(booked)s): %(reason)s",
                body=body,
                difference=self._format(self.difference),
                booked=_("booked on %(account)s", account=account.display_name)
                if account
                else _("left to the customer's credit"),
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

    def action_delete(self, reason):
        """Delete these draft collections, saying why: their salesperson, or
        a reconciliation manager for anybody's (a plain unlink() of another's
        collection is refused). The reason is posted on the customer, where
        the receipt they hold is looked for once the collection is gone, and
        on the draft handover that held the collection."""

        def post_reason(reason):
            for collection in self:
                body = _(
                    "Collection %(name)s of %(date)s, %(amount)s by %(method)s "
                    "collected by %(user)s, deleted by %(deleter)s: %(reason)s",
                    name=collection.name,
                    date=collection.date,
                    amount=collection._format(collection.amount),
                    method=dict(COLLECTION_METHODS)[collection.method],
                    user=collection.user_id.name,
                    deleter=self.env.user.name,
                    reason=reason,
                )
                # sudo: res.partner - a note on the customer, whose record the
                # user may read without being allowed to edit it.
                collection.partner_id.commercial_partner_id.sudo().message_post(
                    body=body, subtype_xmlid="mail.mt_note"
                )
                if collection.handover_id:
                    # sudo: the handover's chatter, which the manager deleting
                    # another salesperson's collection may not write.
                    collection.handover_id.sudo().message_post(
                        body=body, subtype_xmlid="mail.mt_note"
                    )

        return delete_with_reason(self, reason, post_reason)

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
        return WORKFLOW_GUARD.allow(self).write(vals)

    def _is_workflow_write(self):
        return WORKFLOW_GUARD.is_allowed(self)

    def _get_closed_sales_periods(self):
        """{collection: closed sales period} for these collections dated in
        one."""
        dated = self.filtered("date")
        if not dated:
            return {}
        closed_period = self.env["sale.reconciliation.period"]._find_closed_periods(
            dated.company_id, min(dated.mapped("date")), max(dated.mapped("date"))
        )
        periods = {
            collection: closed_period(collection.company_id, collection.date)
            for collection in dated
        }
        return {collection: period for collection, period in periods.items() if period}

    @api.model
    def _find_closed_sales_period(self, company, day):
        """The closed sales period of ``company`` that ``day`` falls in, or
        None."""
        if not company or not day:
            return None
        Period = self.env["sale.reconciliation.period"]
        return Period._find_closed_periods(company, day, day)(company, day)

    def _check_sales_period_open(self, what):
        """Refuse ``what`` on collections dated in a closed sales period."""
        for collection, period in self._get_closed_sales_periods().items():
            raise UserError(
                _(
                    "Collection %(name)s is dated in the closed sales period "
                    "%(period)s: you cannot %(what)s it.",
                    name=collection.name,
                    period=period.name,
                    what=what,
                )
            )

    def _check_handover_match(self):
        """A handover holds collections of its salesperson and currency (its
        company is checked by check_company)."""
        for collection in self.filtered("handover_id"):
            handover = collection.handover_id
            if (
                collection.currency_id != handover.currency_id
                or collection.user_id != handover.user_id
            ):
                raise UserError(
                    _(
                        "Collection %(name)s (%(currency)s, %(user)s) cannot be "
                        "in handover %(handover)s, of %(handover_user)s's "
                        "collections in %(handover_currency)s.",
                        name=collection.name,
                        currency=collection.currency_id.name,
                        user=collection.user_id.name,
                        handover=handover.name,
                        handover_user=handover.user_id.name,
                        handover_currency=handover.currency_id.name,
                    )
                )

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

    def _get_difference_account(self, received_amount):
        """The company's collection difference account, which a difference
        booked off the customer needs."""
        self.ensure_one()
        account = self.company_id.collection_difference_account_id
        if not account:
            raise UserError(
                _(
                    "Collection %(name)s was of %(amount)s and %(received)s "
                    "arrived: set the Collection Difference Account of "
                    "%(company)s (Settings > Sales Reconciliation > Collections) "
                    "to book the difference, or leave an over-receipt to the "
                    "customer's credit.",
                    name=self.name,
                    amount=self._format(self.amount),
                    received=self._format(received_amount),
                    company=self.company_id.name,
                )
            )
        if account.deprecated or account.account_type in DIFFERENCE_ACCOUNT_REFUSED:
            # Odoo takes a receivable or payable write-off line for the
            # payment's counterpart, and a liquidity one for its money.
            raise UserError(
                _(
                    "The Collection Difference Account %(account)s of "
                    "%(company)s is deprecated, or a receivable, payable, cash "
                    "or off-balance account, which a payment's write-off cannot "
                    "use: choose another in Settings > Sales Reconciliation > "
                    "Collections.",
                    account=account.display_name,
                    company=self.company_id.name,
                )
            )
        return account

    def _prepare_payment_vals(self, received_amount, journal, difference_account=None):
        """A payment of what reached the cashier. With ``difference_account``,
        Odoo's write-off line books the difference there, so the customer is
        credited with the collection's amount. The write-off line names the
        salesperson, who answers for the difference, not the customer."""
        self.ensure_one()
        vals = {
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
        if difference_account:
            # Debit when short, credit when over: the receivable line is then
            # the collection's amount (account.payment's own arithmetic).
            write_off = self.amount - received_amount
            vals["write_off_line_vals"] = [
                {
                    "name": _("Collection difference %(name)s", name=self.name),
                    "account_id": difference_account.id,
                    "partner_id": self.user_id.partner_id.id,
                    "currency_id": self.currency_id.id,
                    "amount_currency": write_off,
                    "balance": self.currency_id._convert(
                        write_off,
                        self.company_id.currency_id,
                        self.company_id,
                        vals["date"],
                    ),
                }
            ]
        return vals

    def _create_payment(self, received_amount, journal, difference_account=None):
        # A savepoint: a refused payment leaves nothing behind, even to a
        # caller that goes on after the error.
        with self.env.cr.savepoint():
            payment = self._create_payment_checked(
                received_amount, journal, difference_account
            )
        return payment

    def _create_payment_checked(self, received_amount, journal, difference_account):
        """The posted payment, refused when it would drop the difference."""
        payment = (
            self.env["account.payment"]
            .with_company(self.company_id)
            .create(
                self._prepare_payment_vals(received_amount, journal, difference_account)
            )
        )
        if difference_account and not payment.move_id:
            # Odoo makes no journal entry for a payment method without an
            # outstanding account, and so would drop the write-off.
            raise UserError(
                _(
                    "%(method)s of %(journal)s has no outstanding receipts "
                    "account: Odoo makes no journal entry for its payments, and "
                    "the difference of collection %(name)s could not be booked. "
                    "Receive it in another journal.",
                    method=payment.payment_method_line_id.name,
                    journal=journal.display_name,
                    name=self.name,
                )
            )
        payment.action_post()
        return payment

    def _match_payment(self, payment):
        """Match the payment with the collection's invoices through the
        payment matching's own reconciliation (each proposal in a savepoint,
        Odoo's refusal kept), and link it to the invoices it paid. Returns why
        it was not matched, or None."""
        self.ensure_one()
        if not payment.move_id:
            self._link_payment_without_entry(payment)
            return None
        credit = payment.move_id.line_ids.filtered(
            lambda line: line.account_id == payment.destination_account_id
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
            # Only the invoices the payment settled a part of.
            paid = debits.filtered(
                lambda line: credit in line.matched_credit_ids.credit_move_id
            ).move_id
            paid.matched_payment_ids += payment
        return refused.refusal or None

    def _link_payment_without_entry(self, payment):
        """A payment without journal entry (its method has no outstanding
        account) is matched by Odoo through the invoices it is linked to
        (matched_payment_ids, the invoice then being in payment): link the
        invoices the collection's amount covers, oldest due first."""
        invoices = self.invoice_ids.filtered(
            lambda move: move.state == "posted"
            and move.currency_id == payment.currency_id
            and move.payment_state in ("not_paid", "partial")
        ).sorted(lambda move: (move.invoice_date_due or move.date, move.id))
        left = self.amount
        paid = self.env["account.move"]
        for invoice in invoices:
            if self.currency_id.compare_amounts(left, 0.0) <= 0:
                break
            paid |= invoice
            left -= invoice.amount_residual
        paid.matched_payment_ids += payment
