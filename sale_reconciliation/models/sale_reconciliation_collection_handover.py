"""Handovers (交款): a salesperson hands their collections to a cashier."""

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from .reconciliation_access import WorkflowGuard, given_fields, with_context_defaults
from .sale_reconciliation_collection import (
    CASHIER_GROUP,
    check_draft_owner_write,
    check_own_unlink,
    delete_with_reason,
)

# Written by the action methods only, whoever calls write().
HANDOVER_WORKFLOW_FIELDS = {"name", "state", "date"}

HANDOVER_WORKFLOW_GUARD = WorkflowGuard("sale_reconciliation_handover_workflow")


class SaleReconciliationCollectionHandover(models.Model):
    _name = "sale.reconciliation.collection.handover"
    _description = "Handover of Collections to a Cashier"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "id desc"
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
        default=lambda self: self.env.company,
    )
    currency_id = fields.Many2one(
        "res.currency",
        required=True,
        default=lambda self: self.env.company.currency_id,
    )
    user_id = fields.Many2one(
        "res.users",
        string="Salesperson",
        required=True,
        index=True,
        tracking=True,
        default=lambda self: self.env.user,
        domain="[('share', '=', False)]",
    )
    cashier_id = fields.Many2one(
        "res.users",
        index=True,
        tracking=True,
        domain=lambda self: [
            ("share", "=", False),
            ("groups_id", "in", self.env.ref(CASHIER_GROUP).ids),
        ],
        help="The user of accounting who receives the money and confirms it.",
    )
    state = fields.Selection(
        selection=[
            ("draft", "Draft"),
            ("handed_over", "Handed Over"),
            ("done", "Checked"),
        ],
        required=True,
        default="draft",
        readonly=True,
        index=True,
        copy=False,
        tracking=True,
    )
    date = fields.Date(string="Handed Over On", readonly=True, copy=False)
    collection_ids = fields.One2many(
        "sale.reconciliation.collection", "handover_id", string="Collections"
    )
    note = fields.Text(string="Notes")

    collection_count = fields.Integer(
        string="Collections Handed", compute="_compute_amounts", store=True
    )
    pending_count = fields.Integer(
        string="To Check", compute="_compute_amounts", store=True
    )
    amount_cash = fields.Monetary(string="Cash", compute="_compute_amounts", store=True)
    amount_cheque = fields.Monetary(
        string="Cheques", compute="_compute_amounts", store=True
    )
    amount_transfer = fields.Monetary(
        string="Bank Transfers", compute="_compute_amounts", store=True
    )
    amount_other = fields.Monetary(
        string="Other Methods", compute="_compute_amounts", store=True
    )
    amount_total = fields.Monetary(
        string="Total Handed Over", compute="_compute_amounts", store=True
    )
    amount_received = fields.Monetary(
        string="Total Received",
        compute="_compute_amounts",
        store=True,
        help="What the cashier confirmed.",
    )
    amount_difference = fields.Monetary(
        string="Differences",
        compute="_compute_amounts",
        store=True,
        help="Received less collected, over the confirmed collections: "
        "negative when short.",
    )
    amount_rejected = fields.Monetary(
        string="Rejected", compute="_compute_amounts", store=True
    )
    is_own = fields.Boolean(compute="_compute_is_own")

    # -------------------------------------------------------------------------
    # COMPUTE METHODS
    # -------------------------------------------------------------------------

    @api.depends(
        "collection_ids.amount",
        "collection_ids.method",
        "collection_ids.state",
        "collection_ids.received_amount",
        "collection_ids.difference",
    )
    def _compute_amounts(self):
        for handover in self:
            collections = handover.collection_ids
            by_method = {code: 0.0 for code in ("cash", "cheque", "transfer", "other")}
            for collection in collections:
                by_method[collection.method] += collection.amount
            confirmed = collections.filtered(lambda c: c.state == "confirmed")
            rejected = collections.filtered(lambda c: c.state == "rejected")
            handover.collection_count = len(collections)
            handover.pending_count = len(
                collections.filtered(lambda c: c.state == "handed_over")
            )
            handover.amount_cash = by_method["cash"]
            handover.amount_cheque = by_method["cheque"]
            handover.amount_transfer = by_method["transfer"]
            handover.amount_other = by_method["other"]
            handover.amount_total = sum(collections.mapped("amount"))
            handover.amount_received = sum(confirmed.mapped("received_amount"))
            handover.amount_difference = sum(confirmed.mapped("difference"))
            handover.amount_rejected = sum(rejected.mapped("amount"))

    @api.depends("user_id")
    @api.depends_context("uid")
    def _compute_is_own(self):
        for handover in self:
            handover.is_own = handover.user_id == self.env.user

    # -------------------------------------------------------------------------
    # CONSTRAINTS
    # -------------------------------------------------------------------------

    @api.constrains("cashier_id", "user_id", "company_id")
    def _check_cashier(self):
        for handover in self.filtered("cashier_id"):
            cashier = handover.cashier_id
            if cashier == handover.user_id:
                raise ValidationError(
                    _(
                        "%(user)s cannot hand collections over to themselves: "
                        "choose another cashier.",
                        user=cashier.name,
                    )
                )
            if not cashier.has_group(CASHIER_GROUP) or (
                handover.company_id not in cashier.company_ids
            ):
                raise ValidationError(
                    _(
                        "%(user)s is not a cashier of %(company)s: choose a user of "
                        "Invoicing allowed in the company.",
                        user=cashier.name,
                        company=handover.company_id.name,
                    )
                )

    # -------------------------------------------------------------------------
    # CRUD
    # -------------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            seen = with_context_defaults(self, vals, {"user_id"})
            if given_fields(
                self,
                vals,
                HANDOVER_WORKFLOW_FIELDS,
                initial={"state": "draft", "name": "/"},
            ):
                raise UserError(
                    _(
                        "A new handover starts as a draft numbered by Odoo: it is "
                        "handed over with its button."
                    )
                )
            if seen.get("user_id", self.env.uid) != self.env.uid and not self.env.su:
                raise AccessError(
                    _("A salesperson prepares the handovers of their own collections.")
                )
            company = self.env["res.company"].browse(
                vals.get("company_id") or self.env.company.id
            )
            vals["name"] = self.env["ir.sequence"].with_company(company).next_by_code(
                "sale.reconciliation.collection.handover"
            ) or _("New")
        return super().create(vals_list)

    def write(self, vals):
        fnames = set(vals)
        if not self._is_workflow_write():
            if fnames & HANDOVER_WORKFLOW_FIELDS:
                raise UserError(
                    _(
                        "A handover is handed over and checked through its "
                        "buttons only."
                    )
                )
            check_draft_owner_write(
                self,
                vals,
                _(
                    "A handover given to the cashier cannot change any more: "
                    "the cashier confirms or rejects its collections."
                ),
                lambda other: _(
                    "Handover %(name)s is %(user)s's: only they prepare it.",
                    name=other.name,
                    user=other.user_id.name,
                ),
            )
        # Whoever writes: the totals of a handover are of its collections, in
        # its currency and company.
        for fname in ("currency_id", "company_id"):
            if fname not in vals:
                continue
            for handover in self.filtered("collection_ids"):
                if handover[fname].id != vals[fname]:
                    raise UserError(
                        _(
                            "Handover %(name)s holds collections: its %(field)s "
                            "is theirs and cannot change.",
                            name=handover.name,
                            field=self._fields[fname]._description_string(self.env),
                        )
                    )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_handed_over(self):
        if self.filtered(lambda h: h.state != "draft"):
            raise UserError(_("Only a draft handover can be deleted."))

    @api.ondelete(at_uninstall=False)
    def _unlink_except_another_salesperson(self):
        check_own_unlink(
            self,
            lambda other: _(
                "Handover %(name)s is %(user)s's: a reconciliation manager "
                "deletes it only giving the reason, which is posted on its "
                "collections (Action > Delete with a Reason).",
                name=other.name,
                user=other.user_id.name,
            ),
            lambda other: _(
                "Handover %(name)s is %(user)s's: only they, or a "
                "reconciliation manager giving a reason, may delete it.",
                name=other.name,
                user=other.user_id.name,
            ),
        )

    # -------------------------------------------------------------------------
    # ACTIONS
    # -------------------------------------------------------------------------

    def action_hand_over(self):
        """The salesperson gives the money of these collections to the
        cashier, who is asked to check them."""
        for handover in self:
            handover._check_hand_over()
            handover._write_workflow(
                {"state": "handed_over", "date": fields.Date.context_today(handover)}
            )
            handover.collection_ids._write_workflow(
                {"state": "handed_over", "handover_date": handover.date}
            )
            handover.message_post(
                body=_(
                    "Handed over by %(user)s to %(cashier)s: %(count)s collections, "
                    "%(total)s.",
                    user=handover.user_id.name,
                    cashier=handover.cashier_id.name,
                    count=handover.collection_count,
                    total=handover.currency_id.format(handover.amount_total),
                )
            )
            handover.activity_schedule(
                "mail.mail_activity_data_todo",
                user_id=handover.cashier_id.id,
                summary=_("Check the collections handed over"),
            )
        return True

    def action_delete(self, reason):
        """Delete these draft handovers, saying why: their salesperson, or a
        reconciliation manager for anybody's (a plain unlink() of another's
        handover is refused). Their collections go back to the salesperson's
        hands. The reason is posted on each collection the handover held, and
        on the salesperson's contact when it held none, since the handover's
        own chatter goes with it."""

        def post_reason(reason):
            for handover in self:
                body = _(
                    "Handover %(name)s of %(user)s (%(count)s collections, "
                    "%(total)s) deleted by %(deleter)s: %(reason)s",
                    name=handover.name,
                    user=handover.user_id.name,
                    count=len(handover.collection_ids),
                    total=handover.currency_id.format(handover.amount_total),
                    deleter=self.env.user.name,
                    reason=reason,
                )
                # sudo: mail - a note on records the deleter may read without
                # being allowed to edit them (another's collections, a user's
                # contact).
                threads = handover.collection_ids.sudo() or (
                    handover.user_id.partner_id.sudo()
                )
                for thread in threads:
                    thread.message_post(body=body, subtype_xmlid="mail.mt_note")

        return delete_with_reason(self, reason, post_reason)

    def action_check(self):
        """Open the cashier's check of the collections still to check."""
        self.ensure_one()
        pending = self.collection_ids.filtered(lambda c: c.state == "handed_over")
        if self.state != "handed_over" or not pending:
            raise UserError(
                _("Handover %(name)s has nothing to check.", name=self.name)
            )
        pending[0]._check_cashier(_("confirm"))
        wizard = self.env["sale.reconciliation.collection.check"].create(
            {"handover_id": self.id}
        )
        return {
            "type": "ir.actions.act_window",
            "name": _("Check %(handover)s", handover=self.name),
            "res_model": wizard._name,
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
            "context": {"dialog_size": "extra-large"},
        }

    # -------------------------------------------------------------------------
    # BUSINESS METHODS
    # -------------------------------------------------------------------------

    def _write_workflow(self, vals):
        return HANDOVER_WORKFLOW_GUARD.allow(self).write(vals)

    def _is_workflow_write(self):
        return HANDOVER_WORKFLOW_GUARD.is_allowed(self)

    def _check_hand_over(self):
        self.ensure_one()
        if self.env.user != self.user_id and not self.env.su:
            raise AccessError(
                _(
                    "Only %(user)s hands over their own collections.",
                    user=self.user_id.name,
                )
            )
        if self.state != "draft":
            raise UserError(
                _("Handover %(name)s was handed over already.", name=self.name)
            )
        if not self.collection_ids:
            raise UserError(
                _("Add the collections to hand over to %(name)s.", name=self.name)
            )
        if not self.cashier_id:
            raise UserError(
                _("Choose the cashier who receives %(name)s.", name=self.name)
            )
        if self.collection_ids.filtered(lambda c: c.state != "draft"):
            raise UserError(_("Only collections still in hand can be handed over."))

    def _update_state_after_check(self):
        """Checked once the cashier confirmed or rejected every collection."""
        for handover in self:
            if handover.state == "handed_over" and not handover.collection_ids.filtered(
                lambda c: c.state == "handed_over"
            ):
                handover._write_workflow({"state": "done"})
                handover.activity_feedback(
                    ["mail.mail_activity_data_todo"],
                    feedback=_("All collections checked."),
                )
