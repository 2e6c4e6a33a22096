from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import format_amount

from .reconciliation_access import CREDIT_MANAGER_GROUP, with_context_defaults

# Fields set by the credit manager's decision, never by the requester.
DECISION_FIELDS = ("state", "decided_by_id", "decision_date", "decision_note")


class SaleReconciliationCreditApproval(models.Model):
    """A salesperson's request to confirm a quotation the customer's credit
    does not cover, and the credit manager's decision on it. An approval
    covers the order's total at the time of the request: if the order grows
    past it, it no longer counts."""

    _name = "sale.reconciliation.credit.approval"
    _description = "Credit Approval"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "id desc"
    _check_company_auto = True
    # Requesters follow and comment the requests they may not decide.
    _mail_post_access = "read"

    order_id = fields.Many2one(
        comodel_name="sale.order",
        required=True,
        index=True,
        ondelete="cascade",
        readonly=True,
        check_company=True,
        domain="[('state', 'in', ('draft', 'sent'))]",
    )
    company_id = fields.Many2one(
        related="order_id.company_id",
        store=True,
        index=True,
        precompute=True,
    )
    partner_id = fields.Many2one(
        comodel_name="res.partner",
        string="Customer",
        readonly=True,
        index=True,
        help="The customer the approval was given for.",
    )
    user_id = fields.Many2one(
        related="order_id.user_id",
        string="Salesperson",
        store=True,
        index=True,
    )
    currency_id = fields.Many2one(
        comodel_name="res.currency",
        readonly=True,
    )
    amount = fields.Monetary(
        readonly=True,
        tracking=True,
        help="The order's total when the approval was requested; the approval "
        "does not cover a larger total.",
    )
    requester_id = fields.Many2one(
        comodel_name="res.users",
        string="Requested By",
        readonly=True,
        default=lambda self: self.env.user,
        index=True,
    )
    reason = fields.Text(
        required=True,
        help="Why the order should go through despite the customer's credit.",
    )
    credit_check_message = fields.Text(
        string="Credit Situation",
        readonly=True,
        help="Why credit control stopped the order, at the time of the request.",
    )
    state = fields.Selection(
        selection=[
            ("requested", "Requested"),
            ("approved", "Approved"),
            ("refused", "Refused"),
        ],
        default="requested",
        required=True,
        readonly=True,
        copy=False,
        tracking=True,
        index=True,
    )
    decided_by_id = fields.Many2one(
        comodel_name="res.users",
        readonly=True,
        copy=False,
        tracking=True,
    )
    decision_date = fields.Datetime(readonly=True, copy=False)
    decision_note = fields.Text(copy=False, tracking=True)
    is_current = fields.Boolean(
        string="Covers the Order",
        compute="_compute_is_current",
        help="Approved, and the order's total is still within the approved " "amount.",
    )
    can_decide = fields.Boolean(compute="_compute_can_decide")

    # -------------------------------------------------------------------------
    # COMPUTE METHODS
    # -------------------------------------------------------------------------

    @api.depends("order_id.name", "amount", "currency_id")
    def _compute_display_name(self):
        for approval in self:
            approval.display_name = _(
                "%(order)s for %(amount)s",
                # sudo: a credit manager outside sales names the order too.
                order=approval.order_id.sudo().name or "",
                amount=format_amount(
                    self.env,
                    approval.amount,
                    approval.currency_id or self.env.company.currency_id,
                ),
            )

    @api.depends(
        "state",
        "amount",
        "currency_id",
        "partner_id",
        "order_id.amount_total",
        "order_id.currency_id",
        "order_id.partner_id",
    )
    def _compute_is_current(self):
        for approval in self:
            # sudo: a credit manager outside sales sees whether the approval
            # still covers the order.
            order_sudo = approval.order_id.sudo()
            approval.is_current = approval in order_sudo._get_valid_credit_approval()

    @api.depends_context("uid")
    def _compute_can_decide(self):
        self.can_decide = self.env.user.has_group(CREDIT_MANAGER_GROUP)

    # -------------------------------------------------------------------------
    # CRUD METHODS
    # -------------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        orders = self.env["sale.order"].browse(
            [vals.get("order_id") for vals in vals_list if vals.get("order_id")]
        )
        for vals in vals_list:
            # The decision given as default_<field> context keys counts too.
            seen = with_context_defaults(self, vals, DECISION_FIELDS)
            if seen.get("state", "requested") != "requested" or any(
                seen.get(fname) for fname in DECISION_FIELDS if fname != "state"
            ):
                self._check_can_decide()
            order = orders.browse(vals.get("order_id"))
            if not order:
                raise UserError(_("A credit approval is requested for an order."))
            if order.state not in ("draft", "sent"):
                raise UserError(_("Only quotations need a credit approval."))
            if not (vals.get("reason") or "").strip():
                raise UserError(_("Say why the order should go through."))
            # The approval covers the order as it is now, whatever the client
            # sent, and is requested by whoever asks: only the system (the
            # online payment's request) names another requester.
            if not self.env.su:
                vals["requester_id"] = self.env.user.id
            vals.update(
                {
                    "partner_id": order.partner_id.commercial_partner_id.id,
                    "currency_id": order.currency_id.id,
                    "amount": order.amount_total,
                    "credit_check_message": order.credit_check_message or False,
                }
            )
        approvals = super().create(vals_list)
        for approval in approvals:
            approval._notify_credit_managers()
        return approvals

    def write(self, vals):
        if set(DECISION_FIELDS) & set(vals) or "amount" in vals:
            self._check_can_decide()
        return super().write(vals)

    # -------------------------------------------------------------------------
    # ACTIONS
    # -------------------------------------------------------------------------

    def action_approve(self):
        self._decide("approved")

    def action_refuse(self):
        for approval in self:
            if not (approval.decision_note or "").strip():
                raise UserError(
                    _(
                        "Write in the decision note why the credit approval of "
                        "%(order)s is refused.",
                        order=approval.order_id.sudo().name,
                    )
                )
        self._decide("refused")

    def action_open_order(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "sale.order",
            "res_id": self.order_id.id,
            "view_mode": "form",
        }

    # -------------------------------------------------------------------------
    # HELPERS
    # -------------------------------------------------------------------------

    def _check_can_decide(self):
        if self.env.su or self.env.user.has_group(CREDIT_MANAGER_GROUP):
            return
        raise AccessError(_("Only credit managers may decide credit approvals."))

    def _decide(self, state):
        self._check_can_decide()
        for approval in self:
            if approval.state != "requested":
                raise UserError(
                    _(
                        "The credit approval of %(order)s was already decided.",
                        order=approval.order_id.sudo().name,
                    )
                )
        self.write(
            {
                "state": state,
                "decided_by_id": self.env.user.id,
                "decision_date": fields.Datetime.now(),
            }
        )
        activity_type = "sale_reconciliation.mail_activity_type_credit_approval"
        for approval in self:
            if state == "approved":
                approval.activity_feedback([activity_type])
                body = _(
                    "Credit approval granted by %(user)s for up to %(amount)s.",
                    user=self.env.user.name,
                    amount=format_amount(
                        self.env, approval.amount, approval.currency_id
                    ),
                )
            else:
                approval.activity_unlink([activity_type])
                body = _(
                    "Credit approval refused by %(user)s: %(note)s",
                    user=self.env.user.name,
                    note=approval.decision_note,
                )
            if approval.decision_note and state == "approved":
                body = f"{body}\n{approval.decision_note}"
            # sudo: the decision is logged on the order for its salesperson,
            # whether or not the credit manager works in sales.
            approval.order_id.sudo().message_post(
                author_id=self.env.user.partner_id.id,
                body=Markup("<br/>").join(body.split("\n")),
                partner_ids=approval.requester_id.partner_id.ids,
                subtype_xmlid="mail.mt_comment",
            )

    def _notify_credit_managers(self):
        """An activity for each credit manager of the order's company, and a
        note on the order."""
        self.ensure_one()
        managers = self.env.ref(CREDIT_MANAGER_GROUP).users.filtered(
            lambda user: not user.share
            and user.active
            and not user._is_superuser()
            and self.company_id in user.company_ids
        )
        summary = _(
            "Credit approval of %(order)s (%(amount)s)",
            order=self.order_id.name,
            amount=format_amount(self.env, self.amount, self.currency_id),
        )
        # sudo: the requester may not write the approval, only ask; the
        # activities are for the credit managers.
        approval_sudo = self.sudo()
        for manager in managers:
            approval_sudo.activity_schedule(
                "sale_reconciliation.mail_activity_type_credit_approval",
                summary=summary,
                note=self.reason,
                user_id=manager.id,
            )
        self.order_id.message_post(
            body=Markup("<br/>").join(
                _(
                    "Credit approval requested by %(user)s for %(amount)s:\n%(reason)s",
                    user=self.requester_id.name,
                    amount=format_amount(self.env, self.amount, self.currency_id),
                    reason=self.reason,
                ).split("\n")
            ),
        )
