from odoo import fields, models
from odoo.tools import SQL

# Payments received this many days after a reminder count as collected by it.
COLLECTION_WINDOW_DAYS = 15


class SaleReconciliationFollowupKpi(models.Model):
    """Follow-up KPIs: the reminders sent per month, level and salesperson,
    and what the customers paid on the reminded invoices within 15 days."""

    _name = "sale.reconciliation.followup.kpi"
    _description = "Follow-up KPIs"
    _auto = False
    _order = "month desc, level_id"

    month = fields.Date(readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    level_id = fields.Many2one("sale.reconciliation.followup.level", readonly=True)
    reminder_count = fields.Integer(string="Reminders Sent", readonly=True)
    amount_reminded = fields.Monetary(readonly=True)
    amount_collected = fields.Monetary(
        string="Collected within 15 Days",
        readonly=True,
        help="Paid on the reminded invoices in the 15 days after the reminder "
        "(a payment following two reminders counts for both).",
    )

    @property
    def _table_query(self):
        return SQL(
            """
            SELECT ROW_NUMBER() OVER (ORDER BY month, company_id, user_id, level_id)
                       AS id,
                   month, company_id, user_id, level_id,
                   COUNT(*) AS reminder_count,
                   SUM(amount) AS amount_reminded,
                   SUM(collected) AS amount_collected
              FROM (
                SELECT date_trunc('month', h.date)::date AS month,
                       h.company_id, h.user_id, h.level_id, h.amount,
                       COALESCE((
                           SELECT SUM(partial.amount)
                             FROM sale_reconciliation_followup_history_move_rel rel
                             JOIN account_move_line line
                               ON line.move_id = rel.account_move_id
                             JOIN account_account account
                               ON account.id = line.account_id
                              AND account.account_type = 'asset_receivable'
                             JOIN account_partial_reconcile partial
                               ON partial.debit_move_id = line.id
                            WHERE rel.sale_reconciliation_followup_history_id = h.id
                              AND partial.max_date >= h.date
                              AND partial.max_date <= h.date + %s
                       ), 0) AS collected
                  FROM sale_reconciliation_followup_history h
              ) reminders
             GROUP BY month, company_id, user_id, level_id
            """,
            COLLECTION_WINDOW_DAYS,
        )
