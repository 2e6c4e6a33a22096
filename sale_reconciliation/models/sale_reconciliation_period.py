from dateutil.relativedelta import relativedelta
from markupsafe import Markup
from psycopg2 import errors as pg_errors

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from .reconciliation_access import check_reconciliation_manager

# First key of the advisory lock taken while a company's period is closed or
# reopened (the second key is the company's id).
CLOSING_LOCK_KEY = 5_210_118


class SaleReconciliationPeriod(models.Model):
    _name = "sale.reconciliation.period"
    _description = "Sales Period"
    _inherit = ["mail.thread"]
    _order = "company_id, date_from desc"
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    date_from = fields.Date(string="From", required=True, tracking=True)
    date_to = fields.Date(string="To", required=True, tracking=True)
    state = fields.Selection(
        selection=[("open", "Open"), ("closed", "Closed")],
        required=True,
        default="open",
        index=True,
        copy=False,
        tracking=True,
    )
    closed_by = fields.Many2one("res.users", readonly=True, copy=False)
    closed_date = fields.Datetime(readonly=True, copy=False)

    # -------------------------------------------------------------------------
    # CONSTRAINTS
    # -------------------------------------------------------------------------

    @api.constrains("date_from", "date_to")
    def _check_dates(self):
        for period in self:
            if period.date_from > period.date_to:
                raise ValidationError(
                    _(
                        "Period %(name)s starts on %(date_from)s, after it ends on "
                        "%(date_to)s.",
                        name=period.name,
                        date_from=period.date_from,
                        date_to=period.date_to,
                    )
                )

    @api.constrains("date_from", "date_to", "company_id")
    def _check_overlap(self):
        self.flush_model(["date_from", "date_to", "company_id"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT p.id, other.id
                  FROM sale_reconciliation_period p
                  JOIN sale_reconciliation_period other
                    ON other.company_id = p.company_id
                   AND other.id != p.id
                   AND other.date_from <= p.date_to
                   AND other.date_to >= p.date_from
                 WHERE p.id = ANY(%s)
                 LIMIT 1
                """,
                self.ids,
            )
        )
        if rows:
            period, other = self.browse(rows[0])
            raise ValidationError(
                _(
                    "Period %(name)s (%(date_from)s to %(date_to)s) overlaps period "
                    "%(other)s of %(company)s.",
                    name=period.name,
                    date_from=period.date_from,
                    date_to=period.date_to,
                    other=other.name,
                    company=period.company_id.name,
                )
            )

    # -------------------------------------------------------------------------
    # CRUD
    # -------------------------------------------------------------------------

    def write(self, vals):
        if {"date_from", "date_to", "company_id"} & set(vals) and self.filtered(
            lambda period: period.state == "closed"
        ):
            raise UserError(
                _("A closed period's dates cannot change: reopen it first.")
            )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_closed(self):
        if self.filtered(lambda period: period.state == "closed"):
            raise UserError(_("A closed period cannot be deleted: reopen it first."))

    # -------------------------------------------------------------------------
    # ACTIONS
    # -------------------------------------------------------------------------

    def action_open_close_wizard(self):
        """The closing dialog, with its checklist counted now: the wizard is
        created here, as its checklist is filled when it is created."""
        self.ensure_one()
        wizard = self.env["sale.reconciliation.period.close"].create(
            {"period_id": self.id}
        )
        return {
            "type": "ir.actions.act_window",
            "name": _("Close %(period)s", period=self.name),
            "res_model": "sale.reconciliation.period.close",
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
        }

    def action_close(self, acknowledged_warnings=None):
        """Close the period and lock it with the company's sales lock date.

        :param acknowledged_warnings: the checklist items the closing manager
            acknowledged as warnings (codes); blocking items must be clear.
        """
        self.ensure_one()
        check_reconciliation_manager(self.env, _("close sales periods"))
        self._lock_for_closing()
        if self.state != "open":
            raise UserError(_("Period %(name)s is already closed.", name=self.name))
        today = fields.Date.context_today(self)
        if self.date_to >= today:
            raise UserError(
                _(
                    "Period %(name)s is not over yet: it ends on %(date_to)s.",
                    name=self.name,
                    date_to=self.date_to,
                )
            )
        earlier_open = self.search(
            [
                ("company_id", "=", self.company_id.id),
                ("date_to", "<", self.date_from),
                ("state", "=", "open"),
            ],
            order="date_from",
            limit=1,
        )
        if earlier_open:
            raise UserError(
                _(
                    "Close the earlier period %(earlier)s before %(name)s.",
                    earlier=earlier_open.name,
                    name=self.name,
                )
            )
        checklist = self._get_closing_checklist()
        blocking = [item for item in checklist if item["count"] and item["blocking"]]
        if blocking:
            raise UserError(
                _(
                    "Period %(name)s cannot close yet: %(items)s.",
                    name=self.name,
                    items="; ".join(
                        f"{item['label']} ({item['count']})" for item in blocking
                    ),
                )
            )
        warnings = [item for item in checklist if item["count"]]
        acknowledged = set(acknowledged_warnings or [])
        missing = [item for item in warnings if item["code"] not in acknowledged]
        if missing:
            raise UserError(
                _(
                    "Acknowledge the open warnings before closing %(name)s: %(items)s.",
                    name=self.name,
                    items="; ".join(
                        f"{item['label']} ({item['count']})" for item in missing
                    ),
                )
            )
        company = self.company_id
        if not company.sale_lock_date or company.sale_lock_date < self.date_to:
            # sudo: res.company - the sales lock date is the closing's own
            # effect, allowed to whoever may close periods (checked above).
            company.sudo().sale_lock_date = self.date_to
        self._store_closing(checklist, acknowledged)
        self.write(
            {
                "state": "closed",
                "closed_by": self.env.user.id,
                "closed_date": fields.Datetime.now(),
            }
        )
        body = _("Period closed; sales locked up to %(date)s.", date=self.date_to)
        if warnings:
            body = _(
                "Period closed; sales locked up to %(date)s. Warnings acknowledged "
                "by %(user)s: %(items)s.",
                date=self.date_to,
                user=self.env.user.name,
                items="; ".join(
                    f"{item['label']} ({item['count']})" for item in warnings
                ),
            )
        self.message_post(body=body)
        return True

    def action_reopen(self, reason):
        self.ensure_one()
        check_reconciliation_manager(self.env, _("reopen sales periods"))
        reason = (reason or "").strip()
        if not reason:
            raise UserError(_("Say why the period is reopened."))
        self._lock_for_closing()
        if self.state != "closed":
            raise UserError(_("Period %(name)s is not closed.", name=self.name))
        later_closed = self.search(
            [
                ("company_id", "=", self.company_id.id),
                ("date_from", ">", self.date_to),
                ("state", "=", "closed"),
            ],
            limit=1,
        )
        if later_closed:
            raise UserError(
                _(
                    "Only the last closed period can be reopened: reopen %(later)s "
                    "first.",
                    later=later_closed.name,
                )
            )
        previous = self.search(
            [
                ("company_id", "=", self.company_id.id),
                ("date_to", "<", self.date_from),
                ("state", "=", "closed"),
            ],
            order="date_to desc",
            limit=1,
        )
        # sudo: res.company - moving the sales lock date back is the reopening's
        # own effect, allowed to whoever may reopen periods (checked above).
        self.company_id.sudo().sale_lock_date = previous.date_to or False
        self.write({"state": "open"})
        self.message_post(
            body=Markup("%s<br/>%s")
            % (
                _(
                    "Period reopened by %(user)s: %(reason)s",
                    user=self.env.user.name,
                    reason=reason,
                ),
                self._summary_as_html(),
            )
        )
        return True

    # -------------------------------------------------------------------------
    # BUSINESS METHODS
    # -------------------------------------------------------------------------

    def _lock_for_closing(self):
        """Serialise closings and reopenings of a company: the second of two
        concurrent ones fails clearly instead of half-closing a period.

        An advisory lock per company serialises them (whatever the rows'
        visibility), then the company and period rows are locked so nothing
        else changes them until the transaction ends.
        """
        self.flush_recordset()
        busy = _(
            "Another user is closing or reopening a period of %(company)s right "
            "now. Try again in a moment.",
            company=self.company_id.name,
        )
        [[free]] = self.env.execute_query(
            SQL(
                "SELECT pg_try_advisory_xact_lock(%s, %s)",
                CLOSING_LOCK_KEY,
                self.company_id.id,
            )
        )
        if not free:
            raise UserError(busy)
        try:
            # A savepoint keeps the transaction usable when a lock is refused.
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    SQL(
                        "SELECT 1 FROM res_company WHERE id = %s FOR UPDATE NOWAIT",
                        self.company_id.id,
                    )
                )
                self.env.cr.execute(
                    SQL(
                        "SELECT state FROM sale_reconciliation_period "
                        "WHERE id = %s FOR UPDATE NOWAIT",
                        self.id,
                    )
                )
        except pg_errors.LockNotAvailable:
            raise UserError(busy) from None
        self.invalidate_recordset(["state"])

    def _get_closing_checklist(self):
        """The closing checklist: for each item its code, label, whether it
        blocks the closing, the number of documents and their domain."""
        self.ensure_one()
        company = self.company_id
        within = [("company_id", "=", company.id)]
        start = fields.Datetime.to_datetime(self.date_from)
        end = fields.Datetime.to_datetime(self.date_to + relativedelta(days=1))
        items = [
            (
                "quotations",
                _("Quotations not confirmed nor cancelled"),
                "sale.order",
                within
                + [
                    ("state", "in", ("draft", "sent")),
                    ("date_order", ">=", start),
                    ("date_order", "<", end),
                ],
            ),
            (
                "to_invoice",
                _("Orders with delivered goods not invoiced"),
                "sale.order",
                within
                + [
                    ("state", "=", "sale"),
                    ("date_order", ">=", start),
                    ("date_order", "<", end),
                    ("order_line.qty_to_invoice", ">", 0),
                    ("order_line.qty_delivered", ">", 0),
                ],
            ),
            (
                "draft_invoices",
                _("Draft customer invoices and credit notes"),
                "account.move",
                within
                + [
                    ("move_type", "in", ("out_invoice", "out_refund")),
                    ("state", "=", "draft"),
                    "|",
                    "&",
                    ("invoice_date", ">=", self.date_from),
                    ("invoice_date", "<=", self.date_to),
                    "&",
                    ("invoice_date", "=", False),
                    "&",
                    ("date", ">=", self.date_from),
                    ("date", "<=", self.date_to),
                ],
            ),
            (
                "unmatched_payments",
                _("Customer payments not fully matched"),
                "account.payment",
                within
                + [
                    ("partner_type", "=", "customer"),
                    ("reconciliation_state", "in", ("unmatched", "partial")),
                    ("date", ">=", self.date_from),
                    ("date", "<=", self.date_to),
                ],
            ),
            (
                "mismatches",
                _("Orders where goods and money disagree"),
                "sale.order",
                within
                + [
                    ("reconciliation_state", "=", "mismatch"),
                    ("date_order", ">=", start),
                    ("date_order", "<", end),
                ],
            ),
            (
                "statements",
                _("Customer statements not accepted"),
                "sale.reconciliation.statement",
                within
                + [
                    ("state", "in", ("draft", "confirmed", "sent", "disputed")),
                    ("date_from", ">=", self.date_from),
                    ("date_to", "<=", self.date_to),
                ],
            ),
        ]
        blocking = company._get_closing_blocking_items()
        return [
            {
                "code": code,
                "label": label,
                "model": model,
                "domain": domain,
                "blocking": code in blocking,
                # sudo: counting only - the checklist must see every document
                # of the company, whoever closes.
                "count": self.env[model].sudo().search_count(domain),
            }
            for code, label, model, domain in items
        ]

    @api.model
    def _find_closed_periods(self, companies, date_from, date_to):
        """The closed periods of ``companies`` overlapping the dates, with a
        function telling the one a company's span of days falls in."""
        # sudo: reading periods - whoever changes a document must be told its
        # period is closed, even without access to the periods.
        periods = self.sudo().search(
            [
                ("company_id", "in", companies.ids),
                ("state", "=", "closed"),
                ("date_from", "<=", date_to),
                ("date_to", ">=", date_from),
            ]
        )

        def closed_period(company, first_day, last_day=None):
            last_day = last_day or first_day
            return next(
                (
                    period
                    for period in periods
                    if period.company_id == company
                    and period.date_from <= last_day
                    and period.date_to >= first_day
                ),
                None,
            )

        return closed_period

    @api.model
    def _create_months(self, year, company=None):
        """Open periods for the months of ``year`` that no period covers yet."""
        company = company or self.env.company
        existing = self.search([("company_id", "=", company.id)])
        vals_list = []
        for month in range(1, 13):
            date_from = fields.Date.to_date(f"{year}-{month:02d}-01")
            date_to = date_from + relativedelta(months=1, days=-1)
            if any(p.date_from <= date_to and p.date_to >= date_from for p in existing):
                continue
            vals_list.append(
                {
                    "name": f"{year}-{month:02d}",
                    "company_id": company.id,
                    "date_from": date_from,
                    "date_to": date_to,
                }
            )
        return self.create(vals_list)
