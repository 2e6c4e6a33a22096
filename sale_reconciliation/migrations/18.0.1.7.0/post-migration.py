"""18.0.1.7.0: the reconciliation figures of orders and payments are
computed in the transaction that changes their documents; the queue of the
scheduled action keeps only those that failed. Rows queued by the earlier
versions (every change) are computed by the scheduled action, woken here,
which is renamed after what it does now (its record is loaded once)."""

from odoo import SUPERUSER_ID, api

CRON_XMLID = "sale_reconciliation.ir_cron_refresh_reconciliation_status"


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    cron = env.ref(CRON_XMLID, raise_if_not_found=False)
    if not cron:
        return
    cron.name = (
        "Sales Reconciliation: compute again the reconciliation figures of "
        "orders and payments that failed"
    )
    cr.execute("SELECT 1 FROM sale_reconciliation_status_refresh LIMIT 1")
    if cr.fetchone():
        cron._trigger()
