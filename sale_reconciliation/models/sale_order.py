import logging
from collections import defaultdict
from contextlib import nullcontext

import psycopg2

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, format_amount

from .account_move import CUSTOMER_MOVE_TYPES
from .sale_reconciliation_status_refresh import ORDER_FIGURES, check_figures_not_written

_logger = logging.getLogger(__name__)

# What the credit check of a quotation, and the banner showing it, read of
# the order.
CREDIT_CHECK_DEPENDENCIES = (
    "state",
    "company_id",
    "partner_id",
    "amount_total",
    "currency_id",
    "date_order",
)
# Order fields whose change changes the order's reconciliation figures; its
# lines', invoices' and payments' changes are queued by them (see
# sale.reconciliation.status.refresh).
RECONCILIATION_ORDER_FIELDS = {
    "state",
    "currency_id",
    "pricelist_id",
    "company_id",
    "order_line",
}

# Order fields whose new values change what credit control checks of an
# order: given with its confirmation, they are checked once written.
CREDIT_ORDER_FIELDS = {
    "partner_id",
    "company_id",
    "currency_id",
    "pricelist_id",
    "order_line",
    "amount_untaxed",
    "amount_tax",
    "amount_total",
    "credit_approval_ids",
    "transaction_ids",
}

# Journal item fields read to reconcile an order, loaded in one go.
MOVE_LINE_PREFETCH_FIELDS = [
    "move_id",
    "display_type",
    "parent_state",
    "account_id",
    "currency_id",
    "company_currency_id",
    "date",
    "quantity",
    "product_uom_id",
    "price_unit",
    "discount",
    "price_total",
    "amount_residual",
    "amount_residual_currency",
    "matched_credit_ids",
    "matched_debit_ids",
    "sale_line_ids",
]


# Order fields whose change changes the amounts of a sale, or its period.
ORDER_AMOUNT_FIELDS = {
    "order_line",
    "currency_id",
    "pricelist_id",
    "date_order",
    "amount_untaxed",
    "amount_tax",
    "amount_total",
}


ORDER_RECONCILIATION_STATES = [
    ("none", "Nothing to Reconcile"),
    ("open", "Open"),
    ("mismatch", "Mismatch"),
    ("reconciled", "Reconciled"),
]


class SaleOrder(models.Model):
    _inherit = "sale.order"

    reconciliation_state = fields.Selection(
        groups="base.group_user",
        selection=ORDER_RECONCILIATION_STATES,
        string="Reconciliation Status",
        compute="_compute_reconciliation",
        store=True,
        index=True,
        copy=False,
        help="Where the order stands between what was ordered, delivered, "
        "invoiced and paid:\n"
        "- Open: something is still to deliver, invoice or collect;\n"
        "- Mismatch: goods and money disagree (see the reasons);\n"
        "- Reconciled: every line delivered = invoiced (net of credit notes) "
        "= ordered, and the invoices are fully paid.\n"
        "Quotations and cancelled orders have nothing to reconcile.",
    )
    reconciliation_amount_invoiced = fields.Monetary(
        groups="base.group_user",
        string="Invoiced (Net)",
        compute="_compute_reconciliation",
        store=True,
        copy=False,
        help="Posted customer invoices of this order, less its posted credit "
        "notes, taxes included, in the order's currency.",
    )
    reconciliation_amount_paid = fields.Monetary(
        groups="base.group_user",
        string="Paid",
        compute="_compute_reconciliation",
        store=True,
        copy=False,
        help="What the customer paid on this order's invoices, net of what was "
        "refunded on its credit notes, in the order's currency.",
    )
    reconciliation_amount_due = fields.Monetary(
        groups="base.group_user",
        string="Due",
        compute="_compute_reconciliation",
        store=True,
        copy=False,
        help="Invoiced (net) less paid. Negative when the customer paid more "
        "than was invoiced.",
    )
    reconciliation_mismatch_reasons = fields.Text(
        groups="base.group_user",
        string="Mismatch Reasons",
        compute="_compute_reconciliation_mismatch_reasons",
        # The reasons read the order's invoices and payments, which a
        # salesperson may see the order of without reading its accounting.
        compute_sudo=True,
        help="Why goods and money disagree on this order, one reason a line.",
    )

    credit_approval_ids = fields.One2many(
        groups="base.group_user",
        comodel_name="sale.reconciliation.credit.approval",
        inverse_name="order_id",
        string="Credit Approvals",
        copy=False,
    )
    credit_approval_count = fields.Integer(
        compute="_compute_credit_approval_count", groups="base.group_user"
    )
    credit_approval_pending = fields.Boolean(
        groups="base.group_user",
        string="Credit Approval Requested",
        compute="_compute_credit_approval_count",
        help="A credit approval of this order waits for a credit manager.",
    )
    credit_check_message = fields.Text(
        groups="base.group_user",
        string="Credit Check",
        compute="_compute_credit_check",
        help="Why the customer's credit does not cover this quotation: limit, "
        "exposure, this order and the excess, or the hold.",
    )
    credit_check_blocked = fields.Boolean(
        groups="base.group_user",
        string="Blocked by Credit Control",
        compute="_compute_credit_check",
        help="Under the Block policy, this quotation cannot be confirmed until "
        "a credit manager approves it.",
    )

    # -------------------------------------------------------------------------
    # COMPUTE METHODS
    # -------------------------------------------------------------------------

    # Only the delivered quantities as dependencies (deliveries by stock or
    # timesheets compute them without writing them): the figures also read
    # the order's invoices and the payments matched with them, and a trigger
    # tree on those would cost Odoo's own postings and reconciliations. The
    # module's overrides of those flows mark the orders they concern instead,
    # and the ORM computes them in that transaction
    # (sale.reconciliation.status.refresh).
    @api.depends("order_line.qty_delivered")
    def _compute_reconciliation(self):
        confirmed = self.filtered(lambda order: order.state == "sale")
        (self - confirmed).update(ORDER_FIGURES)
        # Orders with nothing invoiced yet (just confirmed, most of them):
        # open, with nothing invoiced nor paid, found in one query; not looked
        # for among those Odoo says are invoiced, which nearly always have
        # invoices (the analysis below gives the others the same figures).
        uninvoiced = confirmed.filtered(
            lambda order: order.invoice_status not in ("invoiced", "upselling")
        )._filter_reconciliation_uninvoiced()
        uninvoiced._set_reconciliation_uninvoiced_figures()
        confirmed -= uninvoiced
        try:
            confirmed._prefetch_reconciliation_data()
        except psycopg2.Error:
            raise
        except Exception:  # noqa: BLE001 - each order reads its own below
            _logger.exception("Reconciliation figures: prefetching failed")
        refresh = self.env["sale.reconciliation.status.refresh"]
        unchanged_ids = []
        for order in confirmed:
            try:
                analysis = order._get_reconciliation_analysis()
            except psycopg2.Error:
                raise
            except Exception as error:  # noqa: BLE001 - queued, tried again
                # The order keeps its figures; the change goes through.
                refresh._note_failure(order, error)
                unchanged_ids.append(order.id)
                continue
            if not order._set_reconciliation_figures(
                {
                    "reconciliation_state": analysis["state"],
                    "reconciliation_amount_invoiced": analysis["invoiced"],
                    "reconciliation_amount_paid": analysis["paid"],
                    "reconciliation_amount_due": analysis["invoiced"]
                    - analysis["paid"],
                }
            ):
                unchanged_ids.append(order.id)
        # The orders whose figures changed are updated when the ORM writes
        # them; the others are updated all the same.
        self.browse(unchanged_ids)._touch_reconciliation_rows()

    def _filter_reconciliation_uninvoiced(self):
        """These orders (confirmed) of which nothing was invoiced yet, not
        even in a draft or cancelled invoice, and at least one rounding unit
        of a product ordered: their figures are those of an open order with
        nothing invoiced nor paid (_get_reconciliation_analysis finds the
        same, reading them one by one)."""
        order_ids = [order_id for order_id in self._ids if isinstance(order_id, int)]
        if not order_ids:
            return self.browse()
        # SQL: one query for a batch, where reading the lines through the
        # ORM cost more than Odoo's own confirmation of them (profiled: 190
        # Python calls an order, 3% of confirming it).
        self.env["sale.order.line"].flush_model(
            ["order_id", "display_type", "is_downpayment", "product_id"]
            + ["product_uom", "product_uom_qty", "invoice_lines"]
        )
        self.env["product.product"].flush_model(["product_tmpl_id"])
        self.env["product.template"].flush_model(["type"])
        self.env["uom.uom"].flush_model(["rounding"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT DISTINCT line.order_id
                  FROM sale_order_line line
                  JOIN product_product product ON product.id = line.product_id
                  JOIN product_template template
                       ON template.id = product.product_tmpl_id
                  JOIN uom_uom uom ON uom.id = line.product_uom
                 WHERE line.order_id = ANY(%(order_ids)s)
                   AND line.display_type IS NULL
                   AND line.is_downpayment IS NOT TRUE
                   AND template.type != 'combo'
                   AND line.product_uom_qty >= COALESCE(NULLIF(uom.rounding, 0), 0.01)
                   AND NOT EXISTS (
                           SELECT
                             FROM sale_order_line invoiced
                             JOIN sale_order_line_invoice_rel rel
                                  ON rel.order_line_id = invoiced.id
                            WHERE invoiced.order_id = line.order_id
                       )
                """,
                order_ids=order_ids,
            )
        )
        return self.browse(order_id for (order_id,) in rows)

    def _set_reconciliation_uninvoiced_figures(self):
        """Assign these orders the figures of an open order with nothing
        invoiced yet, where theirs differ; the others are updated all the
        same (see _touch_reconciliation_rows)."""
        figures = ORDER_FIGURES | {"reconciliation_state": "open"}
        stored = zip(self.ids, *(self.mapped(fname) for fname in figures), strict=True)
        expected = list(figures.values())
        stale_ids = {order_id for order_id, *values in stored if values != expected}
        stale = self.browse(stale_ids)
        stale.update(figures)
        (self - stale)._touch_reconciliation_rows()

    def _set_reconciliation_figures(self, figures):
        """Assign the figures that changed; those that did not keep their
        stored value (an amount assigned costs the ORM a currency lookup,
        which is most of this computation).

        :return: whether any figure changed
        """
        self.ensure_one()
        currency = self.currency_id
        changed = {}
        for fname, value in figures.items():
            stored = self[fname]
            if stored != value and (
                fname == "reconciliation_state"
                or currency.compare_amounts(stored, value)
            ):
                changed[fname] = value
        if changed:
            self.update(changed)
        return bool(changed)

    @api.depends(
        "reconciliation_state",
        "reconciliation_amount_invoiced",
        "reconciliation_amount_paid",
    )
    @api.depends_context("lang")
    def _compute_reconciliation_mismatch_reasons(self):
        for order in self:
            if order.state != "sale":
                order.reconciliation_mismatch_reasons = False
                continue
            try:
                mismatches = order._get_reconciliation_analysis()["mismatches"]
            except psycopg2.Error:
                raise
            except Exception as error:  # noqa: BLE001 - said on the order
                mismatches = [
                    _("The reconciliation figures could not be computed: %s", error)
                ]
            order.reconciliation_mismatch_reasons = (
                "\n".join(mismatches) if mismatches else False
            )

    @api.depends("credit_approval_ids.state")
    def _compute_credit_approval_count(self):
        for order in self:
            order.credit_approval_count = len(order.credit_approval_ids)
            order.credit_approval_pending = (
                "requested" in order.credit_approval_ids.mapped("state")
            )

    @api.depends(
        *CREDIT_CHECK_DEPENDENCIES,
        "credit_approval_ids.state",
        "credit_approval_ids.amount",
    )
    def _compute_credit_check(self):
        for order in self:
            message = ""
            if order.state in ("draft", "sent") and order.partner_id:
                message = order._get_credit_check_message()
            order.credit_check_message = message
            order.credit_check_blocked = bool(
                message
                and order.company_id.credit_policy == "block"
                and not order._get_valid_credit_approval()
                and not (
                    order.company_id.credit_bypass_prepaid
                    and order._is_credit_prepaid()
                )
            )

    @api.depends(*CREDIT_CHECK_DEPENDENCIES)
    def _compute_partner_credit_warning(self):
        # OVERRIDES sale: Odoo's banner, in Odoo's words, with the exposure
        # credit control reads (receivables, orders still to invoice as Odoo
        # counts them, draft invoices), so the order shows one figure. The
        # form shows it unless the credit control banner, which has the same
        # figure and the holds, shows instead.
        for order in self:
            order.partner_credit_warning = ""
            company = order.company_id
            if order.state not in ("draft", "sent") or not (
                company.account_use_credit_limit and order.partner_id
            ):
                continue
            figures = order._get_partner_credit_figures()
            limit = figures and figures["credit_limit"]
            if not limit:
                continue
            currency = company.currency_id
            current = order._get_credit_amount()
            to_invoice = figures["order_amount"] + figures["draft_invoice_amount"]
            total = figures["credit_exposure"] + current
            if currency.compare_amounts(total, limit) <= 0:
                continue
            total_formatted = format_amount(self.env, total, currency)
            if to_invoice > 0 and current > 0:
                detail = _(
                    "Total amount due (including sales orders and this "
                    "document): %(total_credit)s",
                    total_credit=total_formatted,
                )
            elif to_invoice > 0:
                detail = _(
                    "Total amount due (including sales orders): %(total_credit)s",
                    total_credit=total_formatted,
                )
            elif current > 0:
                detail = _(
                    "Total amount due (including this document): %(total_credit)s",
                    total_credit=total_formatted,
                )
            else:
                detail = _(
                    "Total amount due: %(total_credit)s", total_credit=total_formatted
                )
            order.partner_credit_warning = "\n".join(
                (
                    _(
                        "%(partner_name)s has reached its credit limit of: "
                        "%(credit_limit)s",
                        partner_name=order.partner_id.commercial_partner_id.name,
                        credit_limit=format_amount(self.env, limit, currency),
                    ),
                    detail,
                )
            )

    # -------------------------------------------------------------------------
    # CLOSED PERIODS
    # -------------------------------------------------------------------------

    def _get_closed_sales_periods(self, date_order=None):
        """{order: closed sales period} for these orders dated in one, on
        their own date or on ``date_order`` (UTC) if given."""
        Period = self.env["sale.reconciliation.period"]
        moments = defaultdict(dict)
        for order in self:
            if moment := date_order or order.date_order:
                moments[order.company_id][order] = moment
        if not moments:
            return {}
        # The day in the company's time zone, whoever edits: the periods are
        # looked for between the first and last days, and each order's day is
        # only worked out when there is a closed one.
        time_zones = {company: Period._get_company_tz(company) for company in moments}

        def day(company, moment):
            return Period._get_company_day(company, moment, time_zones[company])

        bounds = [
            day(company, moment)
            for company, by_order in moments.items()
            for moment in (min(by_order.values()), max(by_order.values()))
        ]
        closed_period = Period._find_closed_periods(
            self.env["res.company"].union(*moments), min(bounds), max(bounds)
        )
        if not closed_period.periods:
            return {}
        periods = {
            order: closed_period(company, day(company, moment))
            for company, by_order in moments.items()
            for order, moment in by_order.items()
        }
        return {order: period for order, period in periods.items() if period}

    def _check_sales_period_open(self, what):
        """Refuse ``what`` on orders dated in a closed sales period."""
        for order, period in self._get_closed_sales_periods().items():
            raise UserError(
                _(
                    "Order %(order)s is dated in the closed sales period "
                    "%(period)s: you cannot %(what)s it.",
                    order=order.name,
                    period=period.name,
                    what=what,
                )
            )

    def _action_cancel(self):
        # EXTENDS sale: a confirmed sale of a closed period stays; quotations
        # were no sale, whatever their date.
        self.filtered(lambda order: order.state == "sale")._check_sales_period_open(
            _("cancel")
        )
        return super()._action_cancel()

    @api.model_create_multi
    def create(self, vals_list):
        # EXTENDS sale: an order created confirmed (by its values, or a
        # default of the context or of the user) is checked as a
        # confirmation: no sale is made in a closed period, and credit
        # control checks it; a refusal leaves nothing created, whoever
        # catches it.
        default_state = None
        if any("state" not in vals for vals in vals_list):
            default_state = self.default_get(["state"]).get("state")
        created_confirmed = any(
            vals.get("state", default_state) == "sale" for vals in vals_list
        )
        with self.env.cr.savepoint() if created_confirmed else nullcontext():
            orders = super().create(vals_list)
            refresh = self.env["sale.reconciliation.status.refresh"]
            refresh._set_new(orders, ORDER_FIGURES)
            confirmed = orders.filtered(lambda order: order.state == "sale")
            refresh._mark(orders=confirmed)
            confirmed._check_sales_period_open(_("confirm"))
            confirmed._check_credit_before_confirm(confirmed=True)
            # A sale counts in its customer's credit exposure from now on.
            self.env["sale.reconciliation.credit.profile"]._mark_documents_for_refresh(
                confirmed
            )
        return orders

    def write(self, vals):
        # EXTENDS sale: the amounts of orders in a closed period stay as closed.
        fnames = set(vals)
        check_figures_not_written(self, fnames, ORDER_FIGURES)
        confirmed = self.filtered(lambda o: o.state == "sale")
        if ORDER_AMOUNT_FIELDS & fnames:
            confirmed._check_sales_period_open(_("change the amounts of"))
            new_date = fields.Datetime.to_datetime(vals.get("date_order"))
            # Nor does a confirmed order move into a closed period.
            moved_into = (
                confirmed._get_closed_sales_periods(new_date) if new_date else {}
            )
            for order, period in moved_into.items():
                raise UserError(
                    _(
                        "Order %(order)s cannot be dated in the closed sales "
                        "period %(period)s.",
                        order=order.name,
                        period=period.name,
                    )
                )
        if "state" in vals and vals["state"] != "sale":
            # A sale of a closed period stays one (_action_cancel says so too).
            confirmed._check_sales_period_open(_("cancel"))
        to_confirm = self - confirmed if vals.get("state") == "sale" else self.browse()
        # New values that credit control reads (lines, customer...), given
        # with the confirmation, are checked once written: read before, a
        # larger order or a customer on hold would go through.
        check_credit_after = bool(to_confirm and CREDIT_ORDER_FIELDS & fnames)
        if to_confirm and not check_credit_after:
            # Whoever writes the state (action_confirm among them, before its
            # side effects): credit control stops the quotations it refuses.
            to_confirm._check_credit_before_confirm()
        # Confirmed orders count in the customer's credit exposure: those
        # confirmed before the write (for the customer they leave) and after.
        credit_changes = bool(
            {"state", "partner_id", "order_line", "currency_id", "company_id"} & fnames
        )
        if credit_changes:
            confirmed._mark_credit_refresh()
        # A refusal after the write undoes it, whoever catches it.
        with self.env.cr.savepoint() if check_credit_after else nullcontext():
            result = super().write(vals)
            if check_credit_after:
                to_confirm._check_credit_before_confirm(confirmed=True)
        if ({"state"} | ORDER_AMOUNT_FIELDS) & fnames:
            # Nor is a sale made in a closed period: orders confirmed by this
            # write are checked on the date they have now (action_confirm
            # dates them now, after every closed period).
            (
                self.filtered(lambda o: o.state == "sale") - confirmed
            )._check_sales_period_open(_("confirm"))
        if credit_changes:
            # Their customer as it is at the commit.
            self.env["sale.reconciliation.credit.profile"]._mark_documents_for_refresh(
                self
            )
        if RECONCILIATION_ORDER_FIELDS & fnames:
            # Quotations edited stay with nothing to reconcile.
            changed = self if "state" in fnames else confirmed
            self.env["sale.reconciliation.status.refresh"]._mark(orders=changed)
        return result

    # -------------------------------------------------------------------------
    # CREDIT CONTROL
    # -------------------------------------------------------------------------

    def _mark_credit_refresh(self):
        # The customers of these orders now: before a change that may take
        # the order from them (those after it are read at the commit).
        self.env["sale.reconciliation.credit.profile"]._mark_for_refresh(
            (order.partner_id, order.company_id)
            for order in self
            if order.state == "sale"
        )

    def _get_credit_amount(self):
        """The order's total in its company's currency."""
        self.ensure_one()
        return self.currency_id._convert(
            self.amount_total,
            self.company_id.currency_id,
            self.company_id,
            fields.Date.context_today(self),
        )

    def _get_partner_credit_figures(self, excluded_orders=None):
        """The credit figures of the order's customer in the order's company
        (sale.reconciliation.credit.profile._get_credit_figures), or None;
        ``excluded_orders``: confirmed orders left out of the exposure."""
        self.ensure_one()
        partner = self.partner_id.commercial_partner_id
        if not partner:
            return None
        return (
            self.env["sale.reconciliation.credit.profile"]
            # sudo: sale.reconciliation.credit.profile - the order tells whoever
            # reads it why the customer's credit stops it, which needs the
            # customer's accounting figures.
            .sudo()
            ._get_credit_figures(
                self.company_id, [partner.id], excluded_orders=excluded_orders
            )
            .get(partner.id)
        )

    def _get_credit_check_message(self, pending_amount=0.0, excluded_orders=None):
        """Why the customer's credit does not cover this order ('' when it
        does): the holds, and the limit, exposure, this order and the excess
        in the company's currency. ``pending_amount`` is what other orders
        confirmed with this one add to the exposure; ``excluded_orders``,
        confirmed orders that are left out of it (this one among them, when
        checked once confirmed)."""
        self.ensure_one()
        company = self.company_id
        partner = self.partner_id.commercial_partner_id.with_company(company)
        figures = self._get_partner_credit_figures(excluded_orders=excluded_orders)
        if not figures:
            return ""
        currency = company.currency_id
        reasons = []
        if figures["credit_hold"]:
            reasons.append(
                _(
                    "%(customer)s is on credit hold: %(reason)s",
                    customer=partner.name,
                    reason=partner.sudo().credit_hold_reason or _("no reason given"),
                )
            )
        if figures["overdue_hold"]:
            reasons.append(
                _(
                    "%(customer)s is on overdue hold: %(overdue)s overdue, of which "
                    "%(late)s for more than %(days)s days (hold from %(minimum)s).",
                    customer=partner.name,
                    overdue=format_amount(
                        self.env, figures["credit_overdue_amount"], currency
                    ),
                    late=format_amount(
                        self.env, figures["overdue_hold_amount"], currency
                    ),
                    days=company.credit_overdue_days,
                    minimum=format_amount(
                        self.env, company.credit_overdue_amount, currency
                    ),
                )
            )
        limit = figures["credit_limit"]
        if company.account_use_credit_limit and limit:
            exposure = figures["credit_exposure"] + pending_amount
            amount = self._get_credit_amount()
            excess = exposure + amount - limit
            if currency.compare_amounts(excess, 0.0) > 0:
                reasons.append(
                    _(
                        "%(customer)s would exceed its credit limit: limit "
                        "%(limit)s, exposure %(exposure)s, this order %(amount)s, "
                        "excess %(excess)s.",
                        customer=partner.name,
                        limit=format_amount(self.env, limit, currency),
                        exposure=format_amount(self.env, exposure, currency),
                        amount=format_amount(self.env, amount, currency),
                        excess=format_amount(self.env, excess, currency),
                    )
                )
        return "\n".join(reasons)

    def _get_valid_credit_approval(self):
        """The approval that lets this order through: approved for this
        customer, in the order's currency, for at least its current total."""
        self.ensure_one()
        return self.credit_approval_ids.filtered(
            lambda approval: approval.state == "approved"
            and approval.partner_id == self.partner_id.commercial_partner_id
            and approval.currency_id == self.currency_id
            and self.currency_id.compare_amounts(self.amount_total, approval.amount)
            <= 0
        )[:1]

    def _is_credit_prepaid(self):
        """Whether the customer already paid the whole order: online payment
        transactions, or posted down payment invoices that are paid."""
        self.ensure_one()
        paid = self.amount_paid
        for invoice in self.invoice_ids:
            if (
                invoice.state == "posted"
                and invoice.move_type == "out_invoice"
                and invoice.payment_state in ("paid", "in_payment")
                and invoice.currency_id == self.currency_id
            ):
                paid += invoice.amount_total
        return self.currency_id.compare_amounts(paid, self.amount_total) >= 0

    def _is_paid_online(self):
        """Whether the customer paid the whole order online: transactions
        authorized or done, as Odoo counts them to confirm the order."""
        self.ensure_one()
        return (
            self.currency_id.compare_amounts(self.amount_paid, self.amount_total) >= 0
        )

    def _get_credit_refusals(self, confirmed=False):
        """{order: why credit control refuses to confirm it} of these
        orders not confirmed yet, under the Block policy, that the
        customer's credit does not cover and no credit manager approved.
        Orders confirmed together add up: each one counts the previous ones
        of the customer. Nothing here skips on the caller's say: only the
        company's settings and the order's own payments do.

        ``confirmed``: these orders were just confirmed, with new values, by
        the write or create being checked: each is checked as it is now, its
        customer's exposure leaving them out."""
        pending = defaultdict(float)
        refusals = {}
        blocking = self.company_id.filtered(lambda c: c.credit_policy == "block")
        if not blocking:
            return refusals
        # Cancelled orders too: one written straight back to 'sale' is a
        # confirmation.
        to_check = self if confirmed else self.filtered(lambda o: o.state != "sale")
        excluded_orders = to_check if confirmed else None
        for order in to_check:
            company = order.company_id
            if company not in blocking:
                continue
            if company.credit_confirm_paid_online and order._is_paid_online():
                continue
            if company.credit_bypass_prepaid and order._is_credit_prepaid():
                continue
            key = (order.partner_id.commercial_partner_id, company)
            message = order._get_credit_check_message(
                pending[key], excluded_orders=excluded_orders
            )
            pending[key] += order._get_credit_amount()
            if message and not order._get_valid_credit_approval():
                refusals[order] = message
        return refusals

    def _check_credit_before_confirm(self, confirmed=False):
        """Refuse to confirm the orders credit control stops (see
        _get_credit_refusals)."""
        refusals = self._get_credit_refusals(confirmed=confirmed)
        if refusals:
            raise UserError(
                _(
                    "Credit control stops the confirmation:\n%(refusals)s\n\n"
                    "Request a credit approval from the order, or ask a credit "
                    "manager to review the customer's credit.",
                    refusals="\n".join(
                        _("%(order)s: %(reasons)s", order=order.name, reasons=message)
                        for order, message in refusals.items()
                    ),
                )
            )

    def _request_credit_approval_for_online_payment(self, transaction):
        """The customer paid part of this quotation online, and credit control
        refuses to confirm it: ask the credit managers instead of failing the
        payment's processing (the customer was charged; the order waits for
        their decision)."""
        self.ensure_one()
        if self.credit_approval_ids.filtered(lambda a: a.state == "requested"):
            return self.env["sale.reconciliation.credit.approval"]
        reason = _(
            "Paid online: %(paid)s of %(total)s (transaction %(reference)s). "
            "Credit control stops the confirmation of the rest.",
            paid=format_amount(self.env, self.amount_paid, self.currency_id),
            total=format_amount(self.env, self.amount_total, self.currency_id),
            reference=transaction.reference,
        )
        # sudo: sale.reconciliation.credit.approval - the payment is processed
        # for the customer (public or portal user, or the cron); the request
        # is made by the system, the credit managers decide it.
        return (
            self.env["sale.reconciliation.credit.approval"]
            .sudo()
            .create(
                {
                    "order_id": self.id,
                    "reason": reason,
                    "requester_id": self.env.ref("base.user_root").id,
                }
            )
        )

    def action_request_credit_approval(self):
        self.ensure_one()
        if self.state not in ("draft", "sent"):
            raise UserError(_("Only quotations need a credit approval."))
        if self.credit_approval_ids.filtered(lambda a: a.state == "requested"):
            raise UserError(
                _(
                    "A credit approval of %(order)s is already waiting for a "
                    "credit manager.",
                    order=self.name,
                )
            )
        return {
            "type": "ir.actions.act_window",
            "name": _("Request Credit Approval"),
            "res_model": "sale.reconciliation.credit.approval",
            "view_mode": "form",
            "views": [
                (
                    self.env.ref(
                        "sale_reconciliation.sale_reconciliation_credit_approval_view_form_request"
                    ).id,
                    "form",
                )
            ],
            "target": "new",
            "context": {"default_order_id": self.id},
        }

    def action_view_credit_approvals(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sale_reconciliation.sale_reconciliation_credit_approval_action"
        )
        action["domain"] = [("order_id", "=", self.id)]
        action["context"] = {"default_order_id": self.id}
        return action

    # -------------------------------------------------------------------------
    # BUSINESS METHODS
    # -------------------------------------------------------------------------

    def _touch_reconciliation_rows(self):
        """Update the rows of the orders whose figures this transaction
        computes, even when the figures stay the same: another transaction
        computing them from documents changed meanwhile (one delivers while
        another registers the payment) then waits for this one and fails to
        serialize, and Odoo runs it again on what both did, instead of the
        last one writing figures that ignore the other's change."""
        ids = [order_id for order_id in self.ids if order_id]
        if ids:
            self.env.cr.execute(
                SQL(
                    "UPDATE sale_order SET reconciliation_state = "
                    "reconciliation_state WHERE id = ANY(%s)",
                    sorted(ids),
                )
            )

    def _prefetch_reconciliation_data(self):
        """Load what _get_reconciliation_analysis reads, for all these orders
        at once: a few queries per batch instead of a dozen per order."""
        if not self:
            return
        self.order_line.fetch(
            ["order_id", "display_type", "is_downpayment", "product_id"]
            + ["product_uom", "product_uom_qty", "qty_delivered", "price_unit"]
            + ["discount", "invoice_lines"]
        )
        moves = self.order_line.invoice_lines.move_id
        moves.fetch(
            ["move_type", "state", "currency_id", "amount_total", "amount_residual"]
            + ["invoice_date", "date", "line_ids"]
        )
        move_lines = moves.line_ids
        move_lines.fetch(MOVE_LINE_PREFETCH_FIELDS)
        payment_moves = (
            move_lines.matched_credit_ids.credit_move_id
            | move_lines.matched_debit_ids.debit_move_id
        ).move_id - moves
        payment_moves.fetch(["move_type", "line_ids"])
        payment_moves.line_ids.fetch(MOVE_LINE_PREFETCH_FIELDS)
        (
            payment_moves.line_ids.matched_credit_ids.credit_move_id
            | payment_moves.line_ids.matched_debit_ids.debit_move_id
        ).fetch(["move_id"])

    def _get_reconciliation_analysis(self):
        """Compare what this confirmed order ordered, delivered, invoiced and
        collected.

        Only posted customer invoices and credit notes count. Reads go through
        the ORM's prefetching, so a batch of orders costs a few queries, not a
        few per order.

        :return: dict with ``state``, ``invoiced`` and ``paid`` (order
            currency) and ``mismatches`` (translated reasons, one per issue)
        """
        self.ensure_one()
        if not self.order_line.invoice_lines and any(
            line._is_reconciliation_product_line()
            and line._reconciliation_compare_qty(line.product_uom_qty, 0.0) > 0
            for line in self.order_line
        ):
            # Nothing invoiced yet of something ordered (an order just
            # confirmed): open, whatever is delivered, with no mismatch (what
            # follows would find the same, at many times the cost).
            return {"state": "open", "invoiced": 0.0, "paid": 0.0, "mismatches": []}
        lines = self.order_line.filtered(lambda line: not line.display_type)
        product_lines = lines.filtered(
            lambda line: line._is_reconciliation_product_line()
        )
        posted_invoice_lines = lines.invoice_lines.filtered(
            lambda aml: aml.parent_state == "posted"
            and aml.move_id.move_type in CUSTOMER_MOVE_TYPES
        )
        invoiced_qty = {
            line: line._get_reconciliation_invoiced_qty(posted_invoice_lines)
            for line in lines
        }
        invoiced, paid = self._get_reconciliation_amounts(posted_invoice_lines)

        mismatches = []
        over_invoiced = self.env["sale.order.line"]
        # 1. Invoiced more than delivered, for products invoiced on delivery.
        for line in product_lines:
            if line.product_id.invoice_policy != "delivery":
                continue
            if (
                line._reconciliation_compare_qty(invoiced_qty[line], line.qty_delivered)
                > 0
            ):
                over_invoiced |= line
                mismatches.append(
                    _(
                        "%(line)s: invoiced %(invoiced)s but only %(delivered)s "
                        "delivered (invoiced on delivered quantities).",
                        line=line._get_reconciliation_label(),
                        invoiced=line._format_reconciliation_qty(invoiced_qty[line]),
                        delivered=line._format_reconciliation_qty(line.qty_delivered),
                    )
                )
        # 2. Invoice lines priced differently from their order line.
        for line in product_lines:
            mismatches += line._get_reconciliation_price_mismatches(
                posted_invoice_lines
            )
        # 3. More paid than invoiced.
        if self.currency_id.compare_amounts(paid, invoiced) > 0:
            mismatches.append(
                _(
                    "Overpayment: %(paid)s paid on the order's invoices, more than "
                    "the %(invoiced)s invoiced net of credit notes.",
                    paid=format_amount(self.env, paid, self.currency_id),
                    invoiced=format_amount(self.env, invoiced, self.currency_id),
                )
            )
        # 4. Everything delivered and invoiced, yet the quantities differ.
        fully_delivered = all(
            line._reconciliation_compare_qty(
                line._get_reconciliation_delivered_qty(), line.product_uom_qty
            )
            >= 0
            for line in product_lines
        )
        fully_invoiced = all(
            line._reconciliation_compare_qty(
                invoiced_qty[line], line._get_reconciliation_qty_to_invoice_target()
            )
            >= 0
            for line in product_lines
        )
        if product_lines and fully_delivered and fully_invoiced:
            for line in product_lines - over_invoiced:
                delivered = line._get_reconciliation_delivered_qty()
                if line._reconciliation_compare_qty(invoiced_qty[line], delivered):
                    mismatches.append(
                        _(
                            "%(line)s: fully delivered and invoiced, but "
                            "%(invoiced)s invoiced against %(delivered)s "
                            "delivered.",
                            line=line._get_reconciliation_label(),
                            invoiced=line._format_reconciliation_qty(
                                invoiced_qty[line]
                            ),
                            delivered=line._format_reconciliation_qty(delivered),
                        )
                    )

        if mismatches:
            state = "mismatch"
        elif self._is_reconciliation_complete(
            lines, product_lines, invoiced_qty, invoiced, paid
        ):
            state = "reconciled"
        else:
            state = "open"
        return {
            "state": state,
            "invoiced": invoiced,
            "paid": paid,
            "mismatches": mismatches,
        }

    def _is_reconciliation_complete(
        self, lines, product_lines, invoiced_qty, invoiced, paid
    ):
        """Every line delivered = invoiced = ordered, down payments deducted
        again, no draft invoice pending, and the invoices fully paid."""
        self.ensure_one()
        if not product_lines:
            return False
        for line in product_lines:
            ordered = line.product_uom_qty
            if line._reconciliation_compare_qty(invoiced_qty[line], ordered):
                return False
            delivered = line._get_reconciliation_delivered_qty()
            if line._reconciliation_compare_qty(delivered, ordered):
                return False
        for line in lines - product_lines:
            if line.is_downpayment and line._reconciliation_compare_qty(
                invoiced_qty[line], 0.0
            ):
                return False
        customer_invoice_lines = lines.invoice_lines.filtered(
            lambda aml: aml.move_id.move_type in CUSTOMER_MOVE_TYPES
        )
        if any(aml.parent_state == "draft" for aml in customer_invoice_lines):
            return False
        moves = customer_invoice_lines.filtered(
            lambda aml: aml.parent_state == "posted"
        ).move_id
        if any(not move.currency_id.is_zero(move.amount_residual) for move in moves):
            return False
        return self.currency_id.is_zero(invoiced - paid)

    def _get_reconciliation_amounts(self, posted_invoice_lines):
        """Invoiced (net of credit notes) and paid amounts of this order, in
        its currency.

        An invoice that also bills other orders counts for the share of its
        lines that belong to this order. What is left open on a payment that
        was matched only with this order's invoices counts as paid too: that
        is how an overpayment shows.
        """
        self.ensure_one()
        own_lines = posted_invoice_lines.filtered(
            lambda aml: aml.sale_line_ids & self.order_line
        )
        invoiced = paid = 0.0
        whole_moves = self.env["account.move"]
        for move in own_lines.move_id:
            sign = -1 if move.move_type == "out_refund" else 1
            move_product_lines = move.line_ids.filtered(
                lambda aml: aml.display_type == "product"
            )
            move_own_lines = move_product_lines & own_lines
            if move_own_lines == move_product_lines:
                share = 1.0
                whole_moves |= move
            else:
                total = sum(move_product_lines.mapped("price_total"))
                share = (
                    sum(move_own_lines.mapped("price_total")) / total if total else 0
                )
            amount_total = self._reconciliation_convert(
                move.amount_total, move.currency_id, move.invoice_date or move.date
            )
            amount_residual = self._reconciliation_convert(
                move.amount_residual, move.currency_id, move.invoice_date or move.date
            )
            invoiced += sign * share * amount_total
            paid += sign * share * (amount_total - amount_residual)
        paid += self._get_reconciliation_unallocated_payments(whole_moves)
        return (
            self.currency_id.round(invoiced),
            self.currency_id.round(paid),
        )

    def _get_reconciliation_unallocated_payments(self, moves):
        """Amount left open on the payments matched exclusively with ``moves``
        (signed: what the customer paid in excess, less what was refunded in
        excess), in the order's currency."""
        self.ensure_one()
        receivable_lines = moves.line_ids.filtered(
            lambda aml: aml.account_id.account_type == "asset_receivable"
        )
        counterpart_lines = (
            receivable_lines.matched_credit_ids.credit_move_id
            | receivable_lines.matched_debit_ids.debit_move_id
        )
        excess = 0.0
        for payment_move in counterpart_lines.move_id:
            if payment_move.is_invoice(include_receipts=True):
                continue
            payment_lines = payment_move.line_ids.filtered(
                lambda aml: aml.account_id.account_type == "asset_receivable"
            )
            matched_moves = (
                payment_lines.matched_credit_ids.credit_move_id
                | payment_lines.matched_debit_ids.debit_move_id
            ).move_id
            if matched_moves - moves:
                # Shared with other documents: its remainder is not this order's.
                continue
            for aml in payment_lines:
                if aml.currency_id == self.currency_id:
                    excess -= aml.amount_residual_currency
                else:
                    excess -= self._reconciliation_convert(
                        aml.amount_residual, aml.company_currency_id, aml.date
                    )
        return excess

    def _reconciliation_convert(self, amount, currency, date):
        self.ensure_one()
        if currency == self.currency_id:
            return amount
        return currency._convert(
            amount, self.currency_id, self.company_id, date or fields.Date.today()
        )
