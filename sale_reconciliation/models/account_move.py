from odoo import _, api, fields, models
from odoo.exceptions import AccessError
from odoo.tools.sql import create_index

from .reconciliation_access import (
    CREDIT_MANAGER_GROUP,
    MANAGER_GROUP,
    with_context_defaults,
)

# payment_state -> reconciliation_state, for posted customer invoices and
# credit notes. "blocked" invoices are still owed; legacy ones predate
# accounting and have nothing to reconcile.
PAYMENT_STATE_TO_RECONCILIATION_STATE = {
    "not_paid": "open",
    "blocked": "open",
    "partial": "partial",
    "in_payment": "reconciled",
    "paid": "reconciled",
    "reversed": "reconciled",
    "invoicing_legacy": "none",
}

CUSTOMER_MOVE_TYPES = ("out_invoice", "out_refund")

# Journal entry fields that change a customer's credit figures.
CREDIT_MOVE_FIELDS = {
    "state",
    "partner_id",
    "line_ids",
    "invoice_line_ids",
    "invoice_date_due",
    "invoice_payment_term_id",
    "currency_id",
    "company_id",
}
# Journal item fields whose change on a posted entry changes a customer's
# credit figures (Odoo lets the due date change on any posted item, the others
# outside the lock dates, reconciliations and hashed entries); the first ones
# may take the item from its customer.
CREDIT_LINE_CUSTOMER_FIELDS = {"partner_id", "account_id"}
CREDIT_LINE_FIELDS = CREDIT_LINE_CUSTOMER_FIELDS | {
    "date_maturity",
    "balance",
    "debit",
    "credit",
    "amount_currency",
    "currency_id",
}
# Entry fields whose change may change the customer and company its credit
# counts for, or whether it counts at all: the customer before the write is
# marked too.
CREDIT_MOVE_CUSTOMER_FIELDS = {
    "partner_id",
    "company_id",
    "move_type",
    "line_ids",
    "invoice_line_ids",
}


INVOICE_RECONCILIATION_STATES = [
    ("none", "Nothing to Reconcile"),
    ("open", "Open"),
    ("partial", "Partially Reconciled"),
    ("reconciled", "Reconciled"),
]


class AccountMove(models.Model):
    _inherit = "account.move"

    reconciliation_state = fields.Selection(
        groups="base.group_user",
        selection=INVOICE_RECONCILIATION_STATES,
        string="Reconciliation Status",
        compute="_compute_reconciliation_state",
        store=True,
        # Not indexed: it follows payment_state, which Odoo indexes already
        # (account_move_payment_idx), and an index of its own would be one
        # more to update on every posting and reconciliation.
        copy=False,
        help="Where a customer invoice or credit note stands against the "
        "payments and credit notes matched with it:\n"
        "- Open: posted, nothing paid yet;\n"
        "- Partially Reconciled: partly paid or matched;\n"
        "- Reconciled: paid, in payment or fully reversed.\n"
        "Draft and cancelled documents, and any other journal entry, have "
        "nothing to reconcile.",
    )

    followup_level_id = fields.Many2one(
        "sale.reconciliation.followup.level",
        string="Follow-up Level",
        readonly=True,
        copy=False,
        index="btree_not_null",
        groups="sale_reconciliation.group_reconciliation_user",
        help="The highest follow-up level an instalment of this invoice reached "
        "in a reminder sent to the customer.",
    )
    followup_disputed = fields.Boolean(
        string="In Dispute",
        copy=False,
        tracking=True,
        help="Not escalated by the collections follow-up until unticked, as are "
        "the invoices on a line the customer disputed on a statement; a credit "
        "hold the follow-up already put stays until paid. Set by credit and "
        "reconciliation managers.",
    )

    # -------------------------------------------------------------------------
    # COMPUTE METHODS
    # -------------------------------------------------------------------------

    @api.depends("move_type", "state", "payment_state")
    def _compute_reconciliation_state(self):
        for move in self:
            if move.move_type in CUSTOMER_MOVE_TYPES and move.state == "posted":
                move.reconciliation_state = PAYMENT_STATE_TO_RECONCILIATION_STATE.get(
                    move.payment_state, "open"
                )
            else:
                move.reconciliation_state = "none"

    def init(self):
        # EXTENDS account: the follow-up reads the few invoices in dispute of
        # a company, not every invoice of it.
        result = super().init()
        create_index(
            self.env.cr,
            "account_move__followup_disputed_index",
            self._table,
            ["company_id"],
            where="followup_disputed IS TRUE",
        )
        return result

    # -------------------------------------------------------------------------
    # CRUD METHODS
    # -------------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        check_followup_stamp(self, vals_list, create=True)
        if any(
            with_context_defaults(self, vals, {"followup_disputed"}).get(
                "followup_disputed"
            )
            for vals in vals_list
        ):
            self._check_followup_dispute_rights()
        moves = super().create(vals_list)
        self.env["sale.reconciliation.credit.profile"]._mark_documents_for_refresh(
            moves
        )
        # Posted entries, and customer documents of any state (an order's
        # draft invoice or credit note changes its figures too).
        self.env["sale.reconciliation.status.refresh"]._mark(
            moves=moves.filtered(
                lambda move: move.state == "posted"
                or move.is_sale_document(include_receipts=True)
            )
        )
        return moves

    def write(self, vals):
        # The customer's credit figures follow the documents that change its
        # receivables, draft invoices or due dates, whoever the customer was
        # before and after; the reconciliation figures of its orders and
        # payments, its posting, reset to draft or cancelling, and the
        # payments linked from its side (those without a journal entry are
        # allocated to the invoices they are linked to).
        fnames = set(vals)
        check_followup_stamp(self, [vals])
        if "followup_disputed" in fnames and any(
            move.followup_disputed != bool(vals["followup_disputed"]) for move in self
        ):
            self._check_followup_dispute_rights()
        refresh = self.env["sale.reconciliation.status.refresh"]
        customer_changes = bool(CREDIT_MOVE_CUSTOMER_FIELDS & fnames)
        credit_changes = customer_changes or bool(CREDIT_MOVE_FIELDS & fnames)
        payments_changes = "matched_payment_ids" in fnames
        if customer_changes:
            # The customer it leaves; for the other fields (a posting...),
            # the customer is the same after the write, marked then.
            self._mark_credit_refresh()
        elif "state" in fnames and vals["state"] != "posted":
            # Reset to draft or cancelled: its items may then be edited one
            # by one (only posted items mark their customers) before it is
            # posted again, so the customers it leaves are marked now.
            self.filtered(lambda move: move.state == "posted")._mark_credit_refresh()
        if payments_changes:
            unlinked_payments = refresh._get_concerned(
                payments=self.matched_payment_ids
            )
        result = super().write(vals)
        if credit_changes:
            # Its customer as it is at the commit, however often Odoo's flows
            # write it meanwhile.
            self.env["sale.reconciliation.credit.profile"]._mark_documents_for_refresh(
                self
            )
        if payments_changes:
            refresh._mark_concerned(unlinked_payments)
            refresh._mark(payments=self.matched_payment_ids)
        if "state" in fnames:
            refresh._mark(moves=self)
        return result

    def unlink(self):
        # EXTENDS account: the customers of the entries deleted, read while
        # they still have their items (Odoo deletes the items before the
        # entries, and its ondelete methods run after that).
        if self:
            self._mark_credit_refresh()
        return super().unlink()

    # -------------------------------------------------------------------------
    # HELPERS
    # -------------------------------------------------------------------------

    def _check_followup_dispute_rights(self):
        """An invoice in dispute is not escalated by the follow-up: marking
        it is for credit and reconciliation managers, not for whoever may
        edit invoices."""
        user = self.env.user
        if self.env.su or any(
            user.has_group(group) for group in (CREDIT_MANAGER_GROUP, MANAGER_GROUP)
        ):
            return
        raise AccessError(
            _(
                "Only credit managers and reconciliation managers may put an "
                "invoice in dispute or take it out of dispute."
            )
        )

    def _mark_credit_refresh(self):
        # The customers of these entries now, before a change that may take
        # the entry from them or its deletion (_mark_documents_for_refresh
        # reads them at the commit, as this does): the customer of a customer
        # document, and of each receivable item. A vendor bill or a bank fee
        # says nothing of a customer's credit.
        self.env["sale.reconciliation.credit.profile"]._mark_for_refresh(
            (move.commercial_partner_id, move.company_id)
            for move in self
            if move.is_sale_document(include_receipts=True)
        )
        self.line_ids._mark_credit_refresh()


def check_followup_stamp(records, vals_list, create=False):
    """The follow-up levels reached are the follow-up's own stamps, which
    decide what is reminded and which holds stay: nobody sets them on an
    entry or its items, defaults included (the follow-up writes them as
    superuser, in SQL)."""
    if records.env.su:
        return
    for vals in vals_list:
        if create:
            vals = with_context_defaults(records, vals, {"followup_level_id"})
        if "followup_level_id" in vals:
            raise AccessError(
                _(
                    "The follow-up levels an invoice and its instalments "
                    "reached are set by the follow-up only."
                )
            )


class AccountMoveLine(models.Model):
    _inherit = "account.move.line"

    followup_level_id = fields.Many2one(
        "sale.reconciliation.followup.level",
        string="Follow-up Level",
        readonly=True,
        copy=False,
        index="btree_not_null",
        groups="sale_reconciliation.group_reconciliation_user",
        help="The follow-up level this receivable item (instalment) reached in "
        "a reminder sent to the customer: it is reminded at a level once.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        check_followup_stamp(self, vals_list, create=True)
        lines = super().create(vals_list)
        if any(vals.get("sale_line_ids") for vals in vals_list):
            # An order's line added to an invoice (a draft one too: the
            # order waits for it). sudo: the orders it is of, whoever
            # invoices them.
            self.env["sale.reconciliation.status.refresh"]._mark(
                orders=lines.sudo().sale_line_ids.order_id
            )
        return lines

    def write(self, vals):
        check_followup_stamp(self, [vals])
        # EXTENDS account: a posted item edited (another customer, account,
        # amount or due date) changes the credit figures of the customer it
        # leaves and of the one it goes to. Draft items count through their
        # entry: its posting marks the customers it has then, and its reset
        # to draft those it had (AccountMove.write).
        fnames = set(vals)
        credit_changes = bool(CREDIT_LINE_FIELDS & fnames)
        posted = (
            self.filtered(lambda line: line.parent_state == "posted")
            if credit_changes
            else self.browse()
        )
        if posted and CREDIT_LINE_CUSTOMER_FIELDS & fnames:
            posted._mark_credit_refresh()
        if "sale_line_ids" not in vals:
            result = super().write(vals)
        else:
            # An invoice line linked to another order line changes both
            # orders' figures. sudo: the orders the line leaves, whoever can
            # read them.
            refresh = self.env["sale.reconciliation.status.refresh"]
            left = refresh._get_concerned(orders=self.sudo().sale_line_ids.order_id)
            result = super().write(vals)
            refresh._mark_concerned(left)
            refresh._mark(moves=self.move_id)
        if posted:
            self.env["sale.reconciliation.credit.profile"]._mark_documents_for_refresh(
                posted
            )
        return result

    def _mark_credit_refresh(self):
        # The customers of these items now, before a change that may take
        # the item from them (_mark_documents_for_refresh reads them at the
        # commit, as this does): receivable items only.
        self.env["sale.reconciliation.credit.profile"]._mark_for_refresh(
            (line.partner_id, line.company_id)
            for line in self
            if line.account_type == "asset_receivable"
        )

    def unlink(self):
        # EXTENDS account: a draft invoice or credit note of an order deleted
        # (Odoo deletes its items first) changes the order's figures, marked
        # once the items are gone. sudo: the orders they were of, whoever
        # deletes them.
        refresh = self.env["sale.reconciliation.status.refresh"]
        concerned = refresh._get_concerned(orders=self.sudo().sale_line_ids.order_id)
        result = super().unlink()
        refresh._mark_concerned(concerned)
        return result


class AccountPartialReconcile(models.Model):
    _inherit = "account.partial.reconcile"

    @api.model_create_multi
    def create(self, vals_list):
        partials = super().create(vals_list)
        self.env["sale.reconciliation.credit.profile"]._mark_documents_for_refresh(
            partials.debit_move_id | partials.credit_move_id
        )
        partials._mark_reconciliation_refresh()
        return partials

    def unlink(self):
        # EXTENDS account: what was left to pay on both sides changes; their
        # orders and payments, found while matched, are marked once the
        # matching is gone (unlink() computes what is marked before it).
        refresh = self.env["sale.reconciliation.status.refresh"]
        concerned = refresh._get_concerned(moves=self._get_matched_moves())
        result = super().unlink()
        refresh._mark_concerned(concerned)
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_mark_credit_refresh(self):
        self._mark_credit_refresh()

    def _mark_reconciliation_refresh(self):
        # What is left to pay on both sides changed: the figures of their
        # orders and payments follow.
        self.env["sale.reconciliation.status.refresh"]._mark(
            moves=self._get_matched_moves()
        )

    def _get_matched_moves(self):
        return self.debit_move_id.move_id | self.credit_move_id.move_id

    def _mark_credit_refresh(self):
        (self.debit_move_id | self.credit_move_id)._mark_credit_refresh()
