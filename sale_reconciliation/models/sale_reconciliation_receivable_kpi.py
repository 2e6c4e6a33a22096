"""Days sales outstanding, average days to pay and collection rate over a
window, per customer, salesperson and company, in one set-based query.

In the company currency, over the window [date_from, date_to] of N days:

- receivable at a date: the balance of the customer's posted receivable
  items up to that date (what is open, reconciled pairs cancelling out);
- sales: customer invoices less credit notes dated in the window;
- DSO: receivable at the end / sales x N;
- collected: payments (and bank statement lines) received in the window;
- collection rate: collected / (receivable at the start + sales);
- average days to pay: days from the invoice date to the payment date of
  what payments settled in the window, weighted by the amounts settled.
"""

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from .reconciliation_access import MANAGER_GROUP

KPI_INSERT = """
    WITH items AS (
        SELECT partner.commercial_partner_id AS partner_id,
               aml.balance, aml.date,
               move.move_type IN ('out_invoice', 'out_refund', 'out_receipt')
                   AS is_sale,
               move.origin_payment_id IS NOT NULL
                   OR move.statement_line_id IS NOT NULL AS is_payment
          FROM account_move_line aml
          JOIN account_account account ON account.id = aml.account_id
                                      AND account.account_type = 'asset_receivable'
          JOIN account_move move ON move.id = aml.move_id
          JOIN res_partner partner ON partner.id = aml.partner_id
         WHERE aml.company_id = %(company_id)s
           AND aml.parent_state = 'posted'
           AND aml.date <= %(date_to)s
    ),
    balances AS (
        SELECT partner_id,
               SUM(balance) FILTER (WHERE date < %(date_from)s) AS receivable_start,
               SUM(balance) AS receivable_end,
               SUM(balance) FILTER (WHERE date >= %(date_from)s AND is_sale) AS sales,
               -SUM(balance) FILTER (WHERE date >= %(date_from)s AND is_payment)
                   AS collected
          FROM items
         GROUP BY partner_id
    ),
    settled AS (
        SELECT partner.commercial_partner_id AS partner_id,
               SUM(p.amount) AS paid_amount,
               SUM(p.amount * (credit.date
                               - COALESCE(invoice.invoice_date, debit.date)))
                   AS paid_amount_days
          FROM account_partial_reconcile p
          JOIN account_move_line debit ON debit.id = p.debit_move_id
          JOIN account_move invoice ON invoice.id = debit.move_id
                                   AND invoice.move_type = 'out_invoice'
          JOIN account_move_line credit ON credit.id = p.credit_move_id
          JOIN account_move payment ON payment.id = credit.move_id
                                   AND (payment.origin_payment_id IS NOT NULL
                                        OR payment.statement_line_id IS NOT NULL)
          JOIN res_partner partner ON partner.id = debit.partner_id
         WHERE p.company_id = %(company_id)s
           AND p.max_date BETWEEN %(date_from)s AND %(date_to)s
         GROUP BY 1
    ),
    per_customer AS (
        SELECT b.partner_id, commercial.user_id,
               COALESCE(b.receivable_start, 0) AS receivable_start,
               COALESCE(b.receivable_end, 0) AS receivable_end,
               COALESCE(b.sales, 0) AS sales,
               COALESCE(b.collected, 0) AS collected,
               COALESCE(s.paid_amount, 0) AS paid_amount,
               COALESCE(s.paid_amount_days, 0) AS paid_amount_days
          FROM balances b
          JOIN res_partner commercial ON commercial.id = b.partner_id
          LEFT JOIN settled s ON s.partner_id = b.partner_id
         WHERE (%(user_ids)s::int[] IS NULL OR commercial.user_id = ANY(%(user_ids)s))
    ),
    grouped AS (
        SELECT CASE WHEN GROUPING(partner_id) = 0 THEN 'customer'
                    WHEN GROUPING(user_id) = 0 THEN 'salesperson'
                    ELSE 'company' END AS level,
               partner_id, user_id,
               SUM(receivable_start) AS receivable_start,
               SUM(receivable_end) AS receivable_end,
               SUM(sales) AS sales,
               SUM(collected) AS collected,
               SUM(paid_amount) AS paid_amount,
               SUM(paid_amount_days) AS paid_amount_days
          FROM per_customer
         GROUP BY GROUPING SETS ((partner_id, user_id), (user_id), ())
    )
    INSERT INTO sale_reconciliation_receivable_kpi_line (
        report_id, company_id, level, partner_id, user_id,
        receivable_start, receivable_end, sales, collected, dso,
        avg_days_to_pay, collection_rate,
        create_uid, create_date, write_uid, write_date)
    SELECT %(report_id)s, %(company_id)s, level, partner_id, user_id,
           receivable_start, receivable_end, sales, collected,
           CASE WHEN sales > 0 THEN ROUND(receivable_end / sales * %(days)s, 1) END,
           CASE WHEN paid_amount > 0 THEN ROUND(paid_amount_days / paid_amount, 1) END,
           CASE WHEN receivable_start + sales > 0
                THEN ROUND(100 * collected / (receivable_start + sales), 1) END,
           %(uid)s, NOW() AT TIME ZONE 'UTC', %(uid)s, NOW() AT TIME ZONE 'UTC'
      FROM grouped
     WHERE level = 'company'
        OR receivable_start != 0 OR receivable_end != 0 OR sales != 0
        OR collected != 0
"""


class SaleReconciliationReceivableKpi(models.TransientModel):
    _name = "sale.reconciliation.receivable.kpi"
    _description = "Receivables KPIs"
    _check_company_auto = True

    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    date_from = fields.Date(
        string="From",
        required=True,
        default=lambda self: fields.Date.subtract(
            fields.Date.context_today(self), days=89
        ),
    )
    date_to = fields.Date(string="To", required=True, default=fields.Date.context_today)
    line_ids = fields.One2many("sale.reconciliation.receivable.kpi.line", "report_id")

    @api.constrains("date_from", "date_to")
    def _check_window(self):
        for report in self:
            if report.date_from > report.date_to:
                raise ValidationError(_("The window must start before it ends."))

    def action_compute(self):
        self._compute_kpis()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sale_reconciliation.sale_reconciliation_receivable_kpi_line_action"
        )
        action["name"] = _(
            "Receivables KPIs %(date_from)s – %(date_to)s",
            date_from=fields.Date.to_string(self.date_from),
            date_to=fields.Date.to_string(self.date_to),
        )
        action["domain"] = [("report_id", "=", self.id)]
        return action

    def _compute_kpis(self):
        self.ensure_one()
        self.line_ids.unlink()
        user_ids = None
        if not self.env.user.has_group(MANAGER_GROUP) and not self.env.su:
            # A salesperson's figures are those of their own customers.
            user_ids = [self.env.uid]
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                KPI_INSERT,
                report_id=self.id,
                company_id=self.company_id.id,
                date_from=self.date_from,
                date_to=self.date_to,
                days=(self.date_to - self.date_from).days + 1,
                user_ids=user_ids,
                uid=self.env.uid,
            )
        )
        self.invalidate_recordset(["line_ids"])
        self.env["sale.reconciliation.receivable.kpi.line"].invalidate_model()


class SaleReconciliationReceivableKpiLine(models.TransientModel):
    _name = "sale.reconciliation.receivable.kpi.line"
    _description = "Receivables KPIs Line"
    _order = "level, sales desc, id"

    report_id = fields.Many2one(
        "sale.reconciliation.receivable.kpi",
        required=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one("res.company", required=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    level = fields.Selection(
        selection=[
            ("company", "Company"),
            ("salesperson", "Salesperson"),
            ("customer", "Customer"),
        ],
        required=True,
    )
    partner_id = fields.Many2one("res.partner", string="Customer")
    user_id = fields.Many2one("res.users", string="Salesperson")
    receivable_start = fields.Monetary(string="Receivable at Start")
    receivable_end = fields.Monetary(string="Receivable at End")
    sales = fields.Monetary(help="Invoices less credit notes of the window.")
    collected = fields.Monetary(help="Payments received in the window.")
    dso = fields.Float(
        string="DSO (Days)",
        digits=(16, 1),
        aggregator=False,
        help="Days sales outstanding: receivable at the end / sales x days.",
    )
    avg_days_to_pay = fields.Float(
        string="Average Days to Pay",
        digits=(16, 1),
        aggregator=False,
        help="From invoice date to payment date, weighted by the amounts paid "
        "in the window.",
    )
    collection_rate = fields.Float(
        string="Collection Rate (%)",
        digits=(16, 1),
        aggregator=False,
        help="Collected / (receivable at the start + sales).",
    )
