from odoo import _
from odoo.exceptions import AccessError

MANAGER_GROUP = "sale_reconciliation.group_reconciliation_manager"


def check_reconciliation_manager(env, what):
    """Refuse ``what`` (a translated verb phrase) to users who are not
    reconciliation managers."""
    if env.su or env.user.has_group(MANAGER_GROUP):
        return
    raise AccessError(_("Only reconciliation managers may %(what)s.", what=what))


def with_context_defaults(model, vals, fnames):
    """``vals`` completed with the ``default_<field>`` context keys of
    ``fnames``, which create() would apply: a client sets any context key,
    so the checks of create() look at both."""
    context = model.env.context
    defaults = {
        fname: context[f"default_{fname}"]
        for fname in fnames
        if f"default_{fname}" in context
    }
    return {**defaults, **vals}
