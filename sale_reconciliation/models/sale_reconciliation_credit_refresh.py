"""Customers whose credit figures are to be refreshed, off Odoo's postings."""

from odoo import fields, models


class SaleReconciliationCreditRefresh(models.Model):
    """A customer and company whose documents changed since their credit
    profile was last refreshed.

    Odoo's postings, payments and orders only add rows here (a plain INSERT,
    which never waits for nor conflicts with another transaction); a
    scheduled action, woken at once, refreshes the profiles and deletes the
    rows. The same customer may be queued several times.
    """

    _name = "sale.reconciliation.credit.refresh"
    _description = "Customer Credit Profile to Refresh"
    _log_access = False

    partner_id = fields.Many2one(
        "res.partner", required=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(
        "res.company", required=True, ondelete="cascade", readonly=True
    )
