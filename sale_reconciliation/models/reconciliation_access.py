from odoo import _
from odoo.exceptions import AccessError, UserError

# The module's roles, named once.
MANAGER_GROUP = "sale_reconciliation.group_reconciliation_manager"
CREDIT_MANAGER_GROUP = "sale_reconciliation.group_credit_manager"


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


class WorkflowGuard:
    """The guard of a model's workflow fields (state, who and when): only
    the model's own actions write them, as ``account.move`` refuses changes
    to posted entries. Those writes carry this guard's token in their
    context: a JSON-RPC client can set any context key, never to this
    object."""

    def __init__(self, key):
        self.key = key
        self.token = object()

    def allow(self, records):
        """``records`` in an environment whose writes the guard lets
        through."""
        return records.with_context(**{self.key: self.token})

    def is_allowed(self, records):
        return records.env.context.get(self.key) is self.token

    def check_write(self, records, vals, fnames, message):
        """Refuse ``vals`` with ``message`` when they write one of
        ``fnames`` outside the model's actions."""
        if fnames.intersection(vals) and not self.is_allowed(records):
            raise UserError(message)

    def check_create(self, model, vals, fnames, message, initial=None):
        """Refuse ``vals`` of create() with ``message`` when they (or the
        ``default_*`` context keys) give one of ``fnames`` a value, other
        than its value in ``initial``, outside the model's actions."""
        if not self.is_allowed(model) and given_fields(model, vals, fnames, initial):
            raise UserError(message)


def given_fields(model, vals, fnames, initial=None):
    """Those of ``fnames`` that ``vals`` of create() (or the ``default_*``
    context keys) give a value, other than their value in ``initial``: a
    new record's workflow fields start as the model sets them."""
    initial = initial or {}
    seen = with_context_defaults(model, vals, fnames)
    return {
        fname
        for fname in fnames.intersection(seen)
        if seen[fname] and not (fname in initial and seen[fname] == initial[fname])
    }
