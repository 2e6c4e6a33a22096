from odoo import api, fields, models

MATCH_CRON_XMLID = "sale_reconciliation.ir_cron_match_payments"
STATEMENT_CRON_XMLID = "sale_reconciliation.ir_cron_generate_statements"


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    statement_review_required = fields.Boolean(
        related="company_id.statement_review_required", readonly=False
    )
    statement_auto_generate = fields.Boolean(
        related="company_id.statement_auto_generate", readonly=False
    )
    statement_generation_day = fields.Integer(
        related="company_id.statement_generation_day", readonly=False
    )
    statement_default_type = fields.Selection(
        related="company_id.statement_default_type", readonly=False
    )
    statement_auto_send = fields.Boolean(
        related="company_id.statement_auto_send", readonly=False
    )
    statement_cc_salesperson = fields.Boolean(
        related="company_id.statement_cc_salesperson", readonly=False
    )
    statement_reminder_days = fields.Integer(
        related="company_id.statement_reminder_days", readonly=False
    )
    closing_quotations_blocking = fields.Boolean(
        related="company_id.closing_quotations_blocking", readonly=False
    )
    closing_to_invoice_blocking = fields.Boolean(
        related="company_id.closing_to_invoice_blocking", readonly=False
    )
    closing_draft_invoices_blocking = fields.Boolean(
        related="company_id.closing_draft_invoices_blocking", readonly=False
    )
    closing_unmatched_payments_blocking = fields.Boolean(
        related="company_id.closing_unmatched_payments_blocking", readonly=False
    )
    closing_mismatches_blocking = fields.Boolean(
        related="company_id.closing_mismatches_blocking", readonly=False
    )
    closing_statements_blocking = fields.Boolean(
        related="company_id.closing_statements_blocking", readonly=False
    )
    closing_collections_blocking = fields.Boolean(
        related="company_id.closing_collections_blocking", readonly=False
    )
    collection_difference_account_id = fields.Many2one(
        related="company_id.collection_difference_account_id", readonly=False
    )
    credit_policy = fields.Selection(related="company_id.credit_policy", readonly=False)
    credit_overdue_hold = fields.Boolean(
        related="company_id.credit_overdue_hold", readonly=False
    )
    credit_overdue_days = fields.Integer(
        related="company_id.credit_overdue_days", readonly=False
    )
    credit_overdue_amount = fields.Monetary(
        related="company_id.credit_overdue_amount",
        readonly=False,
        currency_field="currency_id",
    )
    credit_bypass_prepaid = fields.Boolean(
        related="company_id.credit_bypass_prepaid", readonly=False
    )
    credit_confirm_paid_online = fields.Boolean(
        related="company_id.credit_confirm_paid_online", readonly=False
    )
    credit_rating_a_days = fields.Integer(
        related="company_id.credit_rating_a_days", readonly=False
    )
    credit_rating_b_days = fields.Integer(
        related="company_id.credit_rating_b_days", readonly=False
    )
    credit_rating_c_days = fields.Integer(
        related="company_id.credit_rating_c_days", readonly=False
    )
    match_rules = fields.Char(related="company_id.match_rules", readonly=False)
    aging_bucket_limits = fields.Char(
        related="company_id.aging_bucket_limits", readonly=False
    )
    aging_basis = fields.Selection(related="company_id.aging_basis", readonly=False)
    match_payments_automatically = fields.Boolean(
        help="Every day, match the payments whose memo names their invoice or "
        "that have one open invoice's exact amount."
    )

    def _get_match_cron(self):
        return self._get_module_cron(MATCH_CRON_XMLID)

    def _get_module_cron(self, xmlid):
        # sudo: ir.cron - the toggles of the module's own scheduled actions,
        # for whoever may change these settings.
        cron = self.env.ref(xmlid, raise_if_not_found=False)
        return cron.sudo() if cron else self.env["ir.cron"]

    @api.model
    def get_values(self):
        values = super().get_values()
        values["match_payments_automatically"] = bool(self._get_match_cron().active)
        return values

    def set_values(self):
        result = super().set_values()
        cron = self._get_match_cron()
        if cron and cron.active != self.match_payments_automatically:
            cron.active = self.match_payments_automatically
        # The monthly statements run for every company that asks for them.
        # sudo: res.company - the scheduled action serves every company, also
        # those this user is not working in now.
        statement_cron = self._get_module_cron(STATEMENT_CRON_XMLID)
        wanted = bool(
            self.env["res.company"]
            .sudo()
            .search_count([("statement_auto_generate", "=", True)], limit=1)
        )
        if statement_cron and statement_cron.active != wanted:
            statement_cron.active = wanted
        return result
