from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    statement_review_required = fields.Boolean(
        string="Statements Reviewed by Another User",
        help="Segregation of duties: the user who confirms a customer statement "
        "must not be the one who created it.",
    )
    statement_auto_generate = fields.Boolean(
        string="Generate Statements Monthly",
        help="The scheduled action generates last month's statements of every "
        "customer with activity or an open balance.",
    )
    statement_generation_day = fields.Integer(
        string="Statement Day of Month",
        default=1,
        help="Day of the month on which last month's statements are generated.",
    )
    statement_default_type = fields.Selection(
        selection=[("summary", "Summary"), ("detailed", "Detailed")],
        string="Default Statement Type",
        default="summary",
        required=True,
    )
    statement_auto_send = fields.Boolean(
        string="Send Generated Statements",
        help="Confirm and email the statements the scheduled action generates. "
        "Not done when statements must be reviewed by another user.",
    )
    statement_reminder_days = fields.Integer(
        string="Remind After (Days)",
        default=7,
        help="Days after which a statement sent but not answered gets a "
        "follow-up activity for its responsible; 0 disables reminders.",
    )

    _sql_constraints = [
        (
            "statement_generation_day_range",
            "CHECK(statement_generation_day BETWEEN 1 AND 28)",
            "The statement day of month must be between 1 and 28.",
        ),
        (
            "statement_reminder_days_positive",
            "CHECK(statement_reminder_days >= 0)",
            "The statement reminder delay cannot be negative.",
        ),
    ]
