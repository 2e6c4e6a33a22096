from odoo import fields, models
from odoo.tools import SQL


class SaleReconciliationKpiReport(models.Model):
    """Reconciliation KPIs per month and salesperson: the statements of the
    month (by period end) and what they became, and the orders of the month
    (by order date) and how they reconcile."""

    _name = "sale.reconciliation.kpi.report"
    _description = "Reconciliation KPIs"
    _auto = False
    _order = "month desc, user_id"

    month = fields.Date(readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    statements_generated = fields.Integer(readonly=True)
    statements_sent = fields.Integer(readonly=True)
    statements_accepted = fields.Integer(readonly=True)
    statements_disputed = fields.Integer(readonly=True)
    statements_answered = fields.Integer(readonly=True)
    answer_days = fields.Float(
        string="Days Sent to Answer (Total)",
        readonly=True,
        help="Days from sending to the customer's answer, added up over the "
        "answered statements; divide by Answered for the average.",
    )
    avg_answer_days = fields.Float(
        string="Average Days to Answer",
        digits=(16, 1),
        readonly=True,
        aggregator="avg",
    )
    orders_confirmed = fields.Integer(readonly=True)
    orders_reconciled = fields.Integer(readonly=True)
    reconciled_rate = fields.Float(
        string="Orders Reconciled (%)",
        digits=(16, 1),
        readonly=True,
        aggregator="avg",
    )
    mismatch_count = fields.Integer(string="Mismatches", readonly=True)
    mismatch_amount = fields.Monetary(
        string="Mismatch Value",
        readonly=True,
        help="Total of the orders in mismatch, in the company currency.",
    )

    @property
    def _table_query(self):
        return SQL(
            """
            WITH statements AS (
                SELECT date_trunc('month', s.date_to)::date AS month,
                       s.company_id, s.user_id,
                       COUNT(*) AS generated,
                       COUNT(s.sent_date) AS sent,
                       COUNT(*) FILTER (WHERE s.state = 'accepted') AS accepted,
                       COUNT(*) FILTER (WHERE s.state = 'disputed'
                                           OR s.disputed_date IS NOT NULL)
                           AS disputed,
                       COUNT(COALESCE(s.accepted_date, s.disputed_date))
                           FILTER (WHERE s.sent_date IS NOT NULL) AS answered,
                       SUM(EXTRACT(EPOCH FROM COALESCE(s.accepted_date, s.disputed_date)
                                              - s.sent_date) / 86400.0)
                           AS answer_days
                  FROM sale_reconciliation_statement s
                 WHERE s.state != 'cancel' OR s.disputed_date IS NOT NULL
                 GROUP BY 1, 2, 3
            ),
            orders AS (
                SELECT date_trunc('month', o.date_order)::date AS month,
                       o.company_id, o.user_id,
                       COUNT(*) AS confirmed,
                       COUNT(*) FILTER (WHERE o.reconciliation_state = 'reconciled')
                           AS reconciled,
                       COUNT(*) FILTER (WHERE o.reconciliation_state = 'mismatch')
                           AS mismatches,
                       SUM(o.amount_total / COALESCE(NULLIF(o.currency_rate, 0), 1))
                           FILTER (WHERE o.reconciliation_state = 'mismatch')
                           AS mismatch_amount
                  FROM sale_order o
                 WHERE o.state = 'sale'
                 GROUP BY 1, 2, 3
            )
            SELECT ROW_NUMBER() OVER (ORDER BY month, company_id, user_id) AS id,
                   month, company_id, user_id,
                   COALESCE(s.generated, 0) AS statements_generated,
                   COALESCE(s.sent, 0) AS statements_sent,
                   COALESCE(s.accepted, 0) AS statements_accepted,
                   COALESCE(s.disputed, 0) AS statements_disputed,
                   COALESCE(s.answered, 0) AS statements_answered,
                   COALESCE(s.answer_days, 0) AS answer_days,
                   s.answer_days / NULLIF(s.answered, 0) AS avg_answer_days,
                   COALESCE(o.confirmed, 0) AS orders_confirmed,
                   COALESCE(o.reconciled, 0) AS orders_reconciled,
                   100.0 * o.reconciled / NULLIF(o.confirmed, 0) AS reconciled_rate,
                   COALESCE(o.mismatches, 0) AS mismatch_count,
                   COALESCE(o.mismatch_amount, 0) AS mismatch_amount
              FROM statements s
              FULL JOIN orders o USING (month, company_id, user_id)
            """
        )
