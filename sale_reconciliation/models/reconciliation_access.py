from odoo import _
from odoo.exceptions import AccessError

MANAGER_GROUP = "sale_reconciliation.group_reconciliation_manager"


def check_reconciliation_manager(env, what):
    """Refuse ``what`` (a translated verb phrase) to users who are not
    reconciliation managers."""
    if env.su or env.user.has_group(MANAGER_GROUP):
        return
    raise AccessError(_("Only reconciliation managers may %(what)s.", what=what))
