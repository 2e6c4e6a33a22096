from datetime import date, datetime

from odoo import _, api, fields, models


def _serialisable(domain):
    """The domain with its dates as strings, for the web client."""

    def value(term):
        if isinstance(term, datetime):
            return fields.Datetime.to_string(term)
        if isinstance(term, date):
            return fields.Date.to_string(term)
        return term

    return [
        (leaf[0], leaf[1], value(leaf[2])) if isinstance(leaf, tuple) else leaf
        for leaf in domain
    ]


class SaleReconciliationPeriodClose(models.TransientModel):
    _name = "sale.reconciliation.period.close"
    _description = "Close a Sales Period"

    period_id = fields.Many2one(
        "sale.reconciliation.period", required=True, ondelete="cascade"
    )
    line_ids = fields.One2many(
        "sale.reconciliation.period.close.line", "wizard_id", string="Checklist"
    )
    has_blocking = fields.Boolean(compute="_compute_has_blocking")

    @api.depends("line_ids.blocking", "line_ids.count")
    def _compute_has_blocking(self):
        for wizard in self:
            wizard.has_blocking = any(
                line.blocking and line.count for line in wizard.line_ids
            )

    @api.model_create_multi
    def create(self, vals_list):
        wizards = super().create(vals_list)
        for wizard in wizards:
            wizard.line_ids = [
                fields.Command.create(
                    {
                        "code": item["code"],
                        "name": item["label"],
                        "model": item["model"],
                        "domain": repr(_serialisable(item["domain"])),
                        "count": item["count"],
                        "blocking": item["blocking"],
                    }
                )
                for item in wizard.period_id._get_closing_checklist()
            ]
        return wizards

    def action_close(self):
        self.ensure_one()
        self.period_id.action_close(
            acknowledged_warnings=self.line_ids.filtered(
                lambda line: line.acknowledged and not line.blocking
            ).mapped("code")
        )
        return {"type": "ir.actions.act_window_close"}


class SaleReconciliationPeriodCloseLine(models.TransientModel):
    _name = "sale.reconciliation.period.close.line"
    _description = "Sales Period Closing Checklist Item"

    wizard_id = fields.Many2one(
        "sale.reconciliation.period.close", required=True, ondelete="cascade"
    )
    code = fields.Char(required=True)
    name = fields.Char(string="Item", required=True)
    model = fields.Char(required=True)
    domain = fields.Char(required=True)
    count = fields.Integer(string="Documents")
    blocking = fields.Boolean(help="Must be cleared before the period closes.")
    acknowledged = fields.Boolean(
        help="The closing manager saw this warning and closes anyway."
    )

    def action_open_documents(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.name,
            "res_model": self.model,
            "view_mode": "list,form",
            "domain": self.domain,
        }


class SaleReconciliationPeriodMonths(models.TransientModel):
    _name = "sale.reconciliation.period.months"
    _description = "Create the Sales Periods of a Year"

    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    year = fields.Integer(
        required=True, default=lambda self: fields.Date.context_today(self).year
    )

    def action_create(self):
        self.ensure_one()
        periods = self.env["sale.reconciliation.period"]._create_months(
            self.year, self.company_id
        )
        return {
            "type": "ir.actions.act_window",
            "name": _("Sales Periods"),
            "res_model": "sale.reconciliation.period",
            "view_mode": "list,form",
            "domain": [("id", "in", periods.ids)],
        }


class SaleReconciliationPeriodReopen(models.TransientModel):
    _name = "sale.reconciliation.period.reopen"
    _description = "Reopen a Sales Period"

    period_id = fields.Many2one(
        "sale.reconciliation.period",
        required=True,
        ondelete="cascade",
        default=lambda self: self.env.context.get("active_id"),
    )
    reason = fields.Text(required=True)

    def action_reopen(self):
        self.ensure_one()
        self.period_id.action_reopen(self.reason)
        return {"type": "ir.actions.act_window_close"}
