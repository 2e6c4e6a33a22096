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

    closing_quotations_blocking = fields.Boolean(
        string="Open Quotations Block Closing",
        help="Quotations of the period still in draft or sent.",
    )
    closing_to_invoice_blocking = fields.Boolean(
        string="Goods to Invoice Block Closing",
        help="Confirmed orders of the period with delivered goods not invoiced.",
    )
    closing_draft_invoices_blocking = fields.Boolean(
        string="Draft Invoices Block Closing",
        default=True,
        help="Draft customer invoices and credit notes dated in the period.",
    )
    closing_unmatched_payments_blocking = fields.Boolean(
        string="Unmatched Payments Block Closing",
        help="Customer payments of the period not fully matched with invoices.",
    )
    closing_mismatches_blocking = fields.Boolean(
        string="Mismatched Orders Block Closing",
        default=True,
        help="Orders of the period where goods and money disagree.",
    )
    closing_statements_blocking = fields.Boolean(
        string="Unaccepted Statements Block Closing",
        help="Customer statements of the period not accepted by the customer.",
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

    def _get_closing_blocking_items(self):
        """Codes of the closing checklist items that block this company's
        closing (the others are warnings)."""
        self.ensure_one()
        return {
            code
            for code in (
                "quotations",
                "to_invoice",
                "draft_invoices",
                "unmatched_payments",
                "mismatches",
                "statements",
            )
            if self[f"closing_{code}_blocking"]
        }
