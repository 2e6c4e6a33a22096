"""18.0.1.5.0: an invoice's reconciliation status is no longer indexed on
its own (Odoo indexes the payment status it follows); Odoo leaves the index
of a field that no longer asks for one, so it is dropped here."""

from odoo.tools.sql import drop_index


def migrate(cr, version):
    drop_index(cr, "account_move__reconciliation_state_index", "account_move")
