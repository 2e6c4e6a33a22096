"""18.0.1.1.0 adds credit control: fill the customers' credit figures, as a
fresh install does, instead of waiting for the nightly refresh."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["sale.reconciliation.credit.profile"]._refresh_all()
