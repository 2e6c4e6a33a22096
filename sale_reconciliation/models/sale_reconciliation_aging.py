"""Aged receivables as of a date, per customer and salesperson.

The lines are a query, not a table: reading them (the pivot, the list, the
PDF) runs one set-based aggregate over the journal items with the report's
parameters (flushed, parameterised); journal items are never loaded into
Python and nothing is written (see ``bench/``, ``aging_s`` against
``aging_floor_s``). An item's open amount at
the as-of date is what is open now plus what was reconciled after that date,
which equals its balance less the partial reconciliations dated up to then,
as the statements read it: both agree for the same customer and date.
"""

from odoo import _, api, fields, models
from odoo.tools import SQL

from .reconciliation_access import MANAGER_GROUP
from .res_company import parse_aging_limits

# {age_from}: the date an item ages from; {move_join}: what it needs.
AGE_FROM_DUE = "COALESCE(aml.date_maturity, aml.date)"
AGE_FROM_INVOICE = "COALESCE(move.invoice_date, aml.date)"
MOVE_JOIN = "JOIN account_move move ON move.id = aml.move_id"

# Partial reconciliations dated after the as-of date, to undo; left out of
# the query when there are none (an aging as of today).
LATER_CTE = """
    later AS (
        SELECT aml_id, SUM(amount) AS amount
          FROM (
              SELECT p.debit_move_id AS aml_id, p.amount
                FROM account_partial_reconcile p
               WHERE p.company_id = %(company_id)s AND p.max_date > %(date)s
              UNION ALL
              SELECT p.credit_move_id, -p.amount
                FROM account_partial_reconcile p
               WHERE p.company_id = %(company_id)s AND p.max_date > %(date)s
          ) sides
         GROUP BY aml_id
    ),
"""
LATER_JOIN = "LEFT JOIN later ON later.aml_id = aml.id"
LATER_AMOUNT = "+ COALESCE(later.amount, 0)"
ANY_LATER = """
    SELECT 1 FROM account_partial_reconcile
     WHERE company_id = %(company_id)s AND max_date > %(date)s
     LIMIT 1
"""

# What is open at the as-of date: what is open now, plus what was reconciled
# after the as-of date (partial reconciliations dated later are undone);
# payments received later thus count as unpaid then. The same figure as the
# statements' balance less the partial reconciliations dated up to then.
AGING_SELECT = """
    WITH {later_cte}
    aged AS (
        SELECT aml.partner_id,
               width_bucket(%(date)s::date - {age_from}, %(thresholds)s::int[])
                   AS bucket,
               SUM(aml.amount_residual {later_amount}) AS residual
          FROM account_move_line aml
          JOIN account_account account ON account.id = aml.account_id
                                      AND account.account_type = 'asset_receivable'
          {move_join}
          {later_join}
         WHERE aml.company_id = %(company_id)s
           AND aml.parent_state = 'posted'
           AND aml.date <= %(date)s
         GROUP BY 1, 2
    ),
    per_customer AS (
        SELECT partner.commercial_partner_id AS partner_id, aged.bucket,
               ROUND(SUM(aged.residual), %(digits)s) AS amount
          FROM aged
          JOIN res_partner partner ON partner.id = aged.partner_id
         GROUP BY 1, 2
    )
    SELECT c.partner_id * 64 + c.bucket AS id,
           %(report_id)s AS report_id, %(company_id)s AS company_id,
           %(date)s::date AS date,
           c.partner_id, commercial.user_id,
           (%(bucket_ids)s::int[])[c.bucket + 1] AS bucket_id, c.amount
      FROM per_customer c
      JOIN res_partner commercial ON commercial.id = c.partner_id
     WHERE c.amount != 0
       AND (%(user_ids)s::int[] IS NULL OR commercial.user_id = ANY(%(user_ids)s))
       AND (%(partner_ids)s::int[] IS NULL OR c.partner_id = ANY(%(partner_ids)s))
"""


class SaleReconciliationAging(models.TransientModel):
    _name = "sale.reconciliation.aging"
    _description = "Aged Receivables"
    _check_company_auto = True

    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    date = fields.Date(
        string="As Of",
        required=True,
        default=fields.Date.context_today,
        help="What was open on this date: payments received later count as unpaid.",
    )
    basis = fields.Selection(
        selection=[("due", "Due Date"), ("invoice", "Invoice Date")],
        string="Age From",
        required=True,
        default=lambda self: self.env.company.aging_basis,
    )
    bucket_limits = fields.Char(
        string="Buckets (Days)",
        required=True,
        default=lambda self: self.env.company.aging_bucket_limits,
        help="Upper bounds of the buckets in days, comma-separated.",
    )
    user_ids = fields.Many2many(
        "res.users",
        string="Salespeople",
        domain="[('share', '=', False)]",
        help="Only the customers of these salespeople; all by default.",
    )
    partner_ids = fields.Many2many(
        "res.partner",
        string="Customers",
        help="Only these customers; all by default.",
    )
    bucket_ids = fields.One2many("sale.reconciliation.aging.bucket", "report_id")
    line_ids = fields.Many2many(
        "sale.reconciliation.aging.line", compute="_compute_lines"
    )
    total = fields.Monetary(compute="_compute_lines")

    @api.depends(
        "company_id",
        "date",
        "basis",
        "bucket_limits",
        "bucket_ids",
        "user_ids",
        "partner_ids",
    )
    def _compute_lines(self):
        for report in self:
            lines = report._get_lines()
            report.line_ids = lines
            report.total = sum(lines.mapped("amount"))

    @api.onchange("company_id")
    def _onchange_company_id(self):
        self.basis = self.company_id.aging_basis
        self.bucket_limits = self.company_id.aging_bucket_limits

    # -------------------------------------------------------------------------
    # Actions
    # -------------------------------------------------------------------------

    def action_compute(self):
        self._compute_aging()
        return self.action_open_lines()

    def action_open_lines(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sale_reconciliation.sale_reconciliation_aging_line_action"
        )
        action["name"] = _(
            "Aged Receivables at %(date)s", date=fields.Date.to_string(self.date)
        )
        action["context"] = {
            "aging_report_id": self.id,
            "search_default_group_by_partner": 1,
        }
        return action

    def action_print_pdf(self):
        self._compute_aging_if_needed()
        return self.env.ref("sale_reconciliation.action_report_aging").report_action(
            self
        )

    def action_export_xlsx(self):
        self._compute_aging_if_needed()
        attachment = self._export_xlsx_attachment()
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{attachment.id}?download=true",
            "target": "download",
        }

    # -------------------------------------------------------------------------
    # Computation
    # -------------------------------------------------------------------------

    def _compute_aging_if_needed(self):
        for report in self:
            if not report.bucket_ids:
                report._compute_aging()

    def _compute_aging(self):
        """Set the report's buckets from its bounds: its lines follow."""
        self.ensure_one()
        limits = parse_aging_limits(self.bucket_limits)
        self.bucket_ids.unlink()
        self.env["sale.reconciliation.aging.bucket"].create(
            [
                dict(values, report_id=self.id)
                for values in self._get_bucket_values(limits, self.basis)
            ]
        )
        self.invalidate_recordset(["bucket_ids", "line_ids", "total"])

    def _get_lines(self):
        """The report's lines, as the user may read them."""
        self.ensure_one()
        if not self.bucket_ids:
            return self.env["sale.reconciliation.aging.line"]
        # The lines of two reports may share ids (a customer and a bucket):
        # forget those of another report read in this transaction.
        self.env["sale.reconciliation.aging.line"].invalidate_model()
        return (
            self.env["sale.reconciliation.aging.line"]
            .with_context(aging_report_id=self.id)
            .search([])
        )

    def _get_lines_query(self):
        """The SQL of the report's lines."""
        self.ensure_one()
        limits = parse_aging_limits(self.bucket_limits)
        user_ids = self.user_ids.ids or None
        if not self.env.user.has_group(MANAGER_GROUP) and not self.env.su:
            # A salesperson's aging shows their own customers only: asked for
            # another salesperson's, it is empty (the record rules say the
            # same; filtering here spares the work).
            user_ids = [
                uid for uid in user_ids or [self.env.uid] if uid == self.env.uid
            ]
        self.env.flush_all()
        any_later = self.env.execute_query(
            SQL(ANY_LATER, company_id=self.company_id.id, date=self.date)
        )
        return SQL(
            AGING_SELECT.format(
                age_from=AGE_FROM_DUE if self.basis == "due" else AGE_FROM_INVOICE,
                move_join=MOVE_JOIN if self.basis == "invoice" else "",
                later_cte=LATER_CTE if any_later else "",
                later_join=LATER_JOIN if any_later else "",
                later_amount=LATER_AMOUNT if any_later else "",
            ),
            report_id=self.id,
            company_id=self.company_id.id,
            date=self.date,
            thresholds=self._get_bucket_thresholds(limits, self.basis),
            bucket_ids=self.bucket_ids.ids,
            user_ids=user_ids,
            partner_ids=self.partner_ids.commercial_partner_id.ids or None,
            digits=self.currency_id.decimal_places,
        )

    @api.model
    def _get_bucket_thresholds(self, limits, basis):
        """The first day of each bucket but the first, for width_bucket():
        aging from the due date, day 0 and before are not due."""
        return ([1] if basis == "due" else []) + [limit + 1 for limit in limits]

    @api.model
    def _get_bucket_values(self, limits, basis):
        """The buckets of ``limits`` in order: Not Due first when aging from
        the due date, then one per bound, then what is older."""
        values = []
        if basis == "due":
            values.append({"name": _("Not Due"), "day_from": 0, "day_to": 0})
        lower = 0 if basis == "invoice" else 1
        for limit in limits:
            values.append(
                {
                    "name": _("%(lower)s-%(upper)s Days", lower=lower, upper=limit),
                    "day_from": lower,
                    "day_to": limit,
                }
            )
            lower = limit + 1
        values.append(
            {
                "name": _("Over %(days)s Days", days=limits[-1]),
                "day_from": lower,
                "day_to": 0,
            }
        )
        for sequence, bucket in enumerate(values):
            bucket["sequence"] = sequence
        return values

    def _get_matrix(self):
        """{partner: {bucket: amount}}, the partners by name, for the PDF and
        the workbook."""
        self.ensure_one()
        matrix = {}
        if not self.bucket_ids:
            return matrix
        lines = self.env["sale.reconciliation.aging.line"]
        lines.invalidate_model()
        groups = lines.with_context(aging_report_id=self.id)._read_group(
            [], ["partner_id", "bucket_id"], ["amount:sum"]
        )
        for partner, bucket, amount in groups:
            matrix.setdefault(partner.with_env(self.env), {})[
                bucket.with_env(self.env)
            ] = amount
        return dict(sorted(matrix.items(), key=lambda item: item[0].name or ""))


class SaleReconciliationAgingBucket(models.TransientModel):
    _name = "sale.reconciliation.aging.bucket"
    _description = "Aged Receivables Bucket"
    _order = "sequence"

    report_id = fields.Many2one(
        "sale.reconciliation.aging", required=True, ondelete="cascade"
    )
    sequence = fields.Integer()
    name = fields.Char(required=True)
    day_from = fields.Integer()
    day_to = fields.Integer()


class SaleReconciliationAgingLine(models.Model):
    """A customer's open amount in one bucket of an aged receivables report:
    the report (``aging_report_id`` in the context) is computed when read."""

    _name = "sale.reconciliation.aging.line"
    _description = "Aged Receivables Line"
    _auto = False
    _order = "partner_id, bucket_id"

    report_id = fields.Many2one("sale.reconciliation.aging", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    date = fields.Date(string="As Of", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    bucket_id = fields.Many2one(
        "sale.reconciliation.aging.bucket", string="Age", readonly=True
    )
    amount = fields.Monetary(string="Open Amount", readonly=True)

    @property
    def _table_query(self):
        report = self.env["sale.reconciliation.aging"].browse(
            self.env.context.get("aging_report_id")
        )
        if not report.exists() or not report.bucket_ids:
            return SQL(
                "SELECT NULL::bigint AS id, NULL::int AS report_id, "
                "NULL::int AS company_id, NULL::date AS date, "
                "NULL::int AS partner_id, NULL::int AS user_id, "
                "NULL::int AS bucket_id, NULL::numeric AS amount WHERE FALSE"
            )
        return report._get_lines_query()

    def action_open_items(self):
        """The customer's receivable items that make up this line."""
        self.ensure_one()
        report, bucket = self.report_id, self.bucket_id
        date_field = "date_maturity" if report.basis == "due" else "date"
        domain = [
            ("partner_id", "child_of", self.partner_id.id),
            ("company_id", "=", self.company_id.id),
            ("account_id.account_type", "=", "asset_receivable"),
            ("parent_state", "=", "posted"),
            ("date", "<=", report.date),
            "|",
            ("reconciled", "=", False),
            "|",
            ("matched_debit_ids.max_date", ">", report.date),
            ("matched_credit_ids.max_date", ">", report.date),
        ]
        if report.basis == "due" and bucket.sequence == 0:  # not due
            domain.append((date_field, ">=", report.date))
        else:
            domain.append(
                (
                    date_field,
                    "<=",
                    fields.Date.subtract(report.date, days=bucket.day_from),
                )
            )
            if bucket != report.bucket_ids[-1]:  # the oldest has no bound
                domain.append(
                    (
                        date_field,
                        ">=",
                        fields.Date.subtract(report.date, days=bucket.day_to),
                    )
                )
        return {
            "type": "ir.actions.act_window",
            "name": _(
                "%(customer)s: %(bucket)s",
                customer=self.partner_id.name,
                bucket=bucket.name,
            ),
            "res_model": "account.move.line",
            "view_mode": "list,form",
            "domain": domain,
            "context": {"create": False},
        }
