from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

# The levels the module installs for the main company; each company created
# later gets its copies.
DEFAULT_LEVELS = (
    "sale_reconciliation.followup_level_reminder",
    "sale_reconciliation.followup_level_firm",
    "sale_reconciliation.followup_level_final",
)


class SaleReconciliationFollowupLevel(models.Model):
    """One step of a company's collections follow-up (催款): reached by an
    invoice so many days after its due date (before it when negative), and
    what the customer then receives."""

    _name = "sale.reconciliation.followup.level"
    _description = "Follow-up Level"
    _order = "company_id, days, sequence, id"
    _check_company_auto = True

    sequence = fields.Integer(default=10)
    name = fields.Char(required=True, translate=True)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    active = fields.Boolean(default=True)
    days = fields.Integer(
        string="Days After Due Date",
        required=True,
        help="Reached by an unpaid invoice this many days after its due date; "
        "negative for a friendly reminder before it.",
    )
    message = fields.Text(
        translate=True,
        help="What the reminder email and letter say to the customer, in the "
        "customer's language.",
    )
    auto_process = fields.Boolean(
        string="Automatic",
        default=True,
        help="Processed by the daily scheduled action; otherwise only when a "
        "credit manager processes the customer from the follow-up list.",
    )
    send_email = fields.Boolean(default=True)
    mail_template_id = fields.Many2one(
        "mail.template",
        string="Email Template",
        domain="[('model', '=', 'sale.reconciliation.followup.history')]",
    )
    attachment_type = fields.Selection(
        selection=[
            ("none", "Nothing"),
            ("invoices", "Overdue invoices"),
            ("statement", "Current statement"),
        ],
        string="Attach",
        required=True,
        default="invoices",
        help="Current statement: the customer's last confirmed or sent "
        "statement of account, if any.",
    )
    print_letter = fields.Boolean(
        help="A letter (PDF) is made and kept with the reminder, to print " "and post.",
    )
    create_activity = fields.Boolean(string="Schedule Activity")
    activity_type_id = fields.Many2one(
        "mail.activity.type",
        domain="[('res_model', 'in', (False, 'res.partner'))]",
    )
    activity_user = fields.Selection(
        selection=[
            ("salesperson", "Salesperson"),
            ("credit_managers", "Credit managers"),
        ],
        string="Activity For",
        default="salesperson",
        help="The customer's follow-up responsible when set; otherwise its "
        "salesperson, or every credit manager of the company.",
    )
    activity_note = fields.Char(translate=True)
    credit_hold = fields.Boolean(
        string="Put on Credit Hold",
        help="The customer is put on credit hold, lifted when nothing of it is "
        "overdue at such a level any more (a hold a credit manager put stays).",
    )

    _sql_constraints = [
        (
            "company_days_uniq",
            "UNIQUE(company_id, days)",
            "Two follow-up levels of a company cannot be reached on the same day.",
        ),
    ]

    @api.constrains("send_email", "mail_template_id")
    def _check_actions(self):
        for level in self:
            if not level._has_reminder_template():
                # The reminder is rendered as superuser for the customer: a
                # template of another model would render (and email) the
                # record of that model with the reminder's id.
                raise ValidationError(
                    _(
                        "Follow-up level %(level)s sends a reminder: choose a "
                        "template of follow-up reminders, not %(template)s.",
                        level=level.name,
                        template=level.mail_template_id.name,
                    )
                )
            if level.send_email and not level.mail_template_id:
                raise ValidationError(
                    _(
                        "Follow-up level %(level)s sends an email: choose its "
                        "template.",
                        level=level.name,
                    )
                )

    @api.ondelete(at_uninstall=False)
    def _unlink_except_used(self):
        # sudo: whoever may delete levels is refused for any reminder sent,
        # whether or not they may read the customer's history.
        used = (
            self.env["sale.reconciliation.followup.history"]
            .sudo()
            .search([("level_id", "in", self.ids)], limit=1)
        )
        if used:
            raise UserError(
                _(
                    "Follow-up level %(level)s has reminded customers: archive it "
                    "instead of deleting it, so that their history keeps it.",
                    level=used.level_id.name,
                )
            )

    def _has_reminder_template(self):
        self.ensure_one()
        # sudo: mail.template - only its model is read, whoever edits the level.
        template = self.sudo().mail_template_id
        return not template or template.model == "sale.reconciliation.followup.history"

    @api.model
    def _create_default_levels(self, companies):
        """Give each of ``companies`` that has no follow-up level the
        module's default ones, translations included (copy() keeps them)."""
        # sudo: the levels are set up with the company, by whoever creates
        # it; the defaults belong to the main company, which that user may
        # not be in.
        level_sudo = self.sudo().with_context(active_test=False)
        defaults = level_sudo.browse()
        for xmlid in DEFAULT_LEVELS:
            defaults |= self.env.ref(xmlid, raise_if_not_found=False) or defaults
        if not defaults:
            return level_sudo
        configured = level_sudo.search([("company_id", "in", companies.ids)]).company_id
        created = level_sudo
        for company in companies - configured:
            for level in defaults.sudo():
                created |= level.copy({"company_id": company.id, "active": True})
        return created
