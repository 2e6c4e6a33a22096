from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..models.reconciliation_access import MANAGER_GROUP


class SaleReconciliationStatementGenerate(models.TransientModel):
    _name = "sale.reconciliation.statement.generate"
    _inherit = ["sale.reconciliation.statement.scope.mixin"]
    _description = "Generate Customer Statements"
    _check_company_auto = True

    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    date_from = fields.Date(
        string="From",
        required=True,
        default=lambda self: self.env[
            "sale.reconciliation.statement"
        ]._default_period()[0],
    )
    date_to = fields.Date(
        string="To",
        required=True,
        default=lambda self: self.env[
            "sale.reconciliation.statement"
        ]._default_period()[1],
    )
    statement_type = fields.Selection(
        selection=[("summary", "Summary"), ("detailed", "Detailed")],
        string="Type",
        required=True,
        default=lambda self: self.env.company.statement_default_type,
    )
    customer_scope = fields.Selection(
        selection=[
            ("all", "All customers with activity or an open balance"),
            ("salespeople", "Customers of these salespeople"),
            ("tags", "Customers with these tags"),
            ("selected", "These customers"),
        ],
        string="Customers",
        required=True,
        default="all",
    )
    user_ids = fields.Many2many(
        "res.users",
        relation="sale_reconciliation_statement_generate_user_rel",
        string="Salespeople",
        domain="[('share', '=', False)]",
    )
    category_ids = fields.Many2many(
        "res.partner.category",
        relation="sale_reconciliation_statement_generate_category_rel",
        string="Tags",
    )
    partner_ids = fields.Many2many(
        "res.partner",
        relation="sale_reconciliation_statement_generate_partner_rel",
        string="Selected Customers",
        check_company=True,
    )
    company_currency_only = fields.Boolean(
        help="Off: one statement per currency the customer has entries in. On: "
        "only the statements in the company's currency.",
    )
    state = fields.Selection(
        selection=[("setup", "Setup"), ("done", "Done")], default="setup"
    )
    statement_ids = fields.Many2many(
        "sale.reconciliation.statement",
        relation="sale_reconciliation_statement_generate_result_rel",
        column1="wizard_id",
        column2="statement_id",
        string="Created Statements",
    )
    skipped_report = fields.Text(string="Skipped", readonly=True)

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        context = self.env.context
        if context.get("active_model") == "res.partner" and context.get("active_ids"):
            values["customer_scope"] = "selected"
            values["partner_ids"] = [fields.Command.set(context["active_ids"])]
        return values

    def _get_scope_partners(self):
        """The customers asked for, or None for all of them. A salesperson
        only ever gets the statements of their own customers."""
        self.ensure_one()
        partners = self._get_requested_partners()
        if self.env.user.has_group(MANAGER_GROUP):
            return partners
        own = self.env["res.partner"].search([("user_id", "=", self.env.uid)])
        return own if partners is None else partners & own.commercial_partner_id

    def action_generate(self):
        self.ensure_one()
        if self.date_from > self.date_to:
            raise UserError(
                _(
                    "The period starts on %(date_from)s, after it ends on "
                    "%(date_to)s.",
                    date_from=self.date_from,
                    date_to=self.date_to,
                )
            )
        statements, skipped = (
            self.env["sale.reconciliation.statement"]
            .with_company(self.company_id)
            ._generate_statements(
                self.date_from,
                self.date_to,
                statement_type=self.statement_type,
                partners=self._get_scope_partners(),
                company=self.company_id,
                company_currency_only=self.company_currency_only,
            )
        )
        self.write(
            {
                "state": "done",
                "statement_ids": [fields.Command.set(statements.ids)],
                "skipped_report": "\n".join(
                    _(
                        "%(customer)s (%(currency)s): %(reason)s",
                        customer=partner.display_name,
                        currency=currency.name,
                        reason=reason,
                    )
                    for partner, currency, reason in sorted(
                        skipped, key=lambda item: item[0].display_name or ""
                    )
                ),
            }
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": _("Generate Statements"),
        }

    def action_open_statements(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Generated Statements"),
            "res_model": "sale.reconciliation.statement",
            "view_mode": "list,form",
            "domain": [("id", "in", self.statement_ids.ids)],
        }
