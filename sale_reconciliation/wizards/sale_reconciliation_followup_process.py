import psycopg2

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError

from ..models.sale_reconciliation_run_mixin import error_message


class SaleReconciliationFollowupProcess(models.TransientModel):
    """Preview what each chosen customer will receive, then send it."""

    _name = "sale.reconciliation.followup.process"
    _description = "Process Follow-ups"

    line_ids = fields.One2many(
        "sale.reconciliation.followup.process.line", "wizard_id", string="Customers"
    )
    state = fields.Selection(
        selection=[("preview", "Preview"), ("done", "Done")],
        default="preview",
        required=True,
    )

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        context = self.env.context
        if context.get("active_model") != "sale.reconciliation.credit.profile":
            return values
        self.env["sale.reconciliation.credit.profile"]._followup_check_rights()
        profiles = self.env["sale.reconciliation.credit.profile"].browse(
            context.get("active_ids") or []
        )
        prepared = profiles._followup_prepare()
        if not prepared:
            raise UserError(_("None of these customers is due for a reminder today."))
        values["line_ids"] = [
            Command.create(
                {
                    "profile_id": profile.id,
                    "level_id": prepared_values["level"].id,
                    "amount": prepared_values["amount"],
                    "invoice_count": len(
                        {item["move_id"] for item in prepared_values["items"]}
                    ),
                    "recipient_id": prepared_values["recipient"].id,
                    "summary": profile._followup_describe(prepared_values),
                }
            )
            for profile, prepared_values in prepared.items()
        ]
        return values

    def action_process(self):
        """Send each customer its reminder, in its own savepoint: one that
        fails is listed with its reason while the others go on."""
        self.ensure_one()
        for line in self.line_ids.filtered(lambda line: line.state == "todo"):
            profile = line.profile_id
            prepared = profile._followup_prepare().get(profile)
            if not prepared:
                line.write({"state": "skipped", "reason": _("Nothing due any more.")})
                continue
            try:
                with self.env.cr.savepoint():
                    profile._followup_send({profile: prepared})
                line.state = "sent"
            except psycopg2.OperationalError:
                raise
            except Exception as exc:  # noqa: BLE001 - shown as the reason
                line.write({"state": "failed", "reason": error_message(exc)})
        self.state = "done"
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }


class SaleReconciliationFollowupProcessLine(models.TransientModel):
    _name = "sale.reconciliation.followup.process.line"
    _description = "Customer to Remind"

    wizard_id = fields.Many2one(
        "sale.reconciliation.followup.process", required=True, ondelete="cascade"
    )
    profile_id = fields.Many2one("sale.reconciliation.credit.profile", required=True)
    partner_id = fields.Many2one(related="profile_id.partner_id", string="Customer")
    currency_id = fields.Many2one(related="profile_id.currency_id")
    level_id = fields.Many2one("sale.reconciliation.followup.level")
    amount = fields.Monetary()
    invoice_count = fields.Integer(string="Invoices")
    recipient_id = fields.Many2one("res.partner", string="Sent To")
    summary = fields.Char(string="Will Receive")
    state = fields.Selection(
        selection=[
            ("todo", "To Do"),
            ("sent", "Reminded"),
            ("skipped", "Skipped"),
            ("failed", "Failed"),
        ],
        default="todo",
        required=True,
    )
    reason = fields.Char()
