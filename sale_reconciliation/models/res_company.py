from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from .payment_matching import check_rules


def parse_aging_limits(text):
    """'30, 60,90' -> [30, 60, 90]; ValidationError unless positive whole
    numbers in increasing order."""
    try:
        limits = [int(part) for part in (text or "").split(",") if part.strip()]
    except ValueError:
        limits = None
    if (
        not limits
        or len(limits) > 20
        or limits[0] <= 0
        or any(a >= b for a, b in zip(limits, limits[1:], strict=False))
    ):
        raise ValidationError(
            _(
                "The aging buckets must be at most 20 whole numbers of days, "
                "positive and increasing, separated by commas (for instance "
                "30,60,90,120), not “%(text)s”.",
                text=text or "",
            )
        )
    return limits


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
    statement_cc_salesperson = fields.Boolean(
        string="Salesperson in Copy of Statements",
        help="Statements emailed by a statement run go to the customer with "
        "its salesperson in copy.",
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
    closing_collections_blocking = fields.Boolean(
        string="Collections in Hand Block Closing",
        help="Collections dated up to the period's end that the salesperson has "
        "not handed over to a cashier.",
    )
    collection_difference_account_id = fields.Many2one(
        "account.account",
        check_company=True,
        domain="[('deprecated', '=', False), ('account_type', 'not in', "
        "('asset_receivable', 'liability_payable', 'asset_cash', "
        "'liability_credit_card', 'off_balance'))]",
        help="Where the cashier's check of a collection books what is missing "
        "from what the customer paid the salesperson (a current asset for what "
        "staff owe, or a cash-shortage expense), and an over-receipt the "
        "cashier does not leave to the customer's credit. Not a receivable, "
        "payable or cash account: Odoo's payments take those for their own.",
    )

    credit_policy = fields.Selection(
        selection=[("warn", "Warn"), ("block", "Block")],
        default="warn",
        required=True,
        help="What happens when a sales order is confirmed for a customer over "
        "their credit limit or on hold:\n"
        "- Warn: Odoo's banner on the order, with the figures;\n"
        "- Block: the confirmation is refused unless a credit manager approved "
        "the order.",
    )
    credit_overdue_hold = fields.Boolean(
        string="Hold Customers with Overdue Invoices",
        help="Customers owing at least the minimum amount for longer than the "
        "given days past due are on hold until they pay.",
    )
    credit_overdue_days = fields.Integer(
        string="Overdue Hold After (Days)",
        default=30,
        help="Days past the due date after which an unpaid invoice counts "
        "towards the overdue hold.",
    )
    credit_overdue_amount = fields.Monetary(
        string="Overdue Hold Minimum Amount",
        currency_field="currency_id",
        help="Overdue amounts below this do not put the customer on hold, so a "
        "few cents paid late do not stop the sales.",
    )
    credit_bypass_prepaid = fields.Boolean(
        string="Prepaid Orders Bypass the Credit Check",
        help="Orders whose full amount is already paid (online payment or paid "
        "down payment invoices) are confirmed whatever the customer's credit.",
    )
    credit_confirm_paid_online = fields.Boolean(
        string="Orders Paid Online in Full Confirm",
        default=True,
        help="A quotation the customer paid in full online is confirmed "
        "whatever the customer's credit. One paid in part that credit control "
        "refuses becomes a credit approval request for the credit managers.",
    )
    credit_rating_a_days = fields.Integer(
        string="Excellent up to (Days Late)",
        default=5,
        help="Customers paying on average at most this many days late, weighted "
        "by amount over the last 12 months, are rated Excellent.",
    )
    credit_rating_b_days = fields.Integer(
        string="Good up to (Days Late)",
        default=15,
    )
    credit_rating_c_days = fields.Integer(
        string="Watch up to (Days Late)",
        default=45,
        help="Customers paying later than this on average are rated Risky.",
    )

    match_rules = fields.Char(
        string="Payment Matching Strategies",
        default="reference,amount,combination",
        required=True,
        help="Rules the payment matching tries, in this order, comma-separated: "
        "reference (the memo names the invoice), amount (one open invoice of "
        "exactly the amount), combination (several invoices summing exactly to "
        "it), fifo (oldest due first, partial matches included).",
    )

    aging_bucket_limits = fields.Char(
        string="Aging Buckets (Days)",
        default="30,60,90,120",
        required=True,
        help="Upper bounds of the aging buckets in days, comma-separated and "
        "increasing: 30,60,90,120 gives Not Due, 1-30, 31-60, 61-90, 91-120 "
        "and Over 120 days.",
    )
    aging_basis = fields.Selection(
        selection=[("due", "Due Date"), ("invoice", "Invoice Date")],
        string="Age Receivables From",
        default="due",
        required=True,
        help="Due Date: days past due, with a Not Due bucket. Invoice Date: "
        "days since the invoice (or the payment) was issued.",
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
        (
            "credit_overdue_days_positive",
            "CHECK(credit_overdue_days >= 0)",
            "The overdue hold delay cannot be negative.",
        ),
        (
            "credit_overdue_amount_positive",
            "CHECK(credit_overdue_amount >= 0)",
            "The overdue hold minimum amount cannot be negative.",
        ),
    ]

    @api.constrains(
        "credit_rating_a_days", "credit_rating_b_days", "credit_rating_c_days"
    )
    def _check_credit_rating_days(self):
        for company in self:
            days = (
                company.credit_rating_a_days,
                company.credit_rating_b_days,
                company.credit_rating_c_days,
            )
            if days[0] < 0 or not days[0] <= days[1] <= days[2]:
                raise ValidationError(
                    _(
                        "The credit rating thresholds must be positive and "
                        "increasing: Excellent (%(a)s days) ≤ Good (%(b)s days) "
                        "≤ Watch (%(c)s days).",
                        a=days[0],
                        b=days[1],
                        c=days[2],
                    )
                )

    @api.constrains("aging_bucket_limits")
    def _check_aging_bucket_limits(self):
        for company in self:
            company._get_aging_limits()

    def _get_aging_limits(self):
        """The aging bucket bounds, as increasing positive integers."""
        self.ensure_one()
        return parse_aging_limits(self.aging_bucket_limits)

    @api.constrains("match_rules")
    def _check_match_rules(self):
        for company in self:
            check_rules(company.match_rules)

    def _get_credit_rating(self, average_days_late):
        """The rating of a customer paying ``average_days_late`` days late on
        average (None when there is no history: not rated)."""
        self.ensure_one()
        if average_days_late is None:
            return False
        if average_days_late <= self.credit_rating_a_days:
            return "a"
        if average_days_late <= self.credit_rating_b_days:
            return "b"
        if average_days_late <= self.credit_rating_c_days:
            return "c"
        return "d"

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
                "collections",
            )
            if self[f"closing_{code}_blocking"]
        }

    def _has_online_payment_provider(self):
        """Whether this company's customers can pay online: one of its
        payment providers is enabled (or in test mode)."""
        self.ensure_one()
        # sudo: payment.provider - only whether one is enabled is read, for
        # whoever renders a reminder or a portal page.
        return bool(
            self.env["payment.provider"]
            .sudo()
            .search_count(
                [("state", "in", ("enabled", "test")), ("company_id", "=", self.id)],
                limit=1,
            )
        )

    @api.model
    def _get_overdue_payment_page(self, partner):
        """What Odoo's page paying all overdue invoices at once
        (``/my/invoices/overdue``, account_payment) would ask ``partner``'s
        portal user to pay, read as that page reads it: ``(company, currency,
        amount, invoices)``, or None when the page would not offer a payment
        (nothing overdue, or several companies or currencies). The page
        charges the invoices' totals, whatever was paid or credited."""
        # sudo: account.move - what the customer's own portal page lists, to
        # decide whether to point the customer at it.
        invoices = (
            self.env["account.move"]
            .sudo()
            .search(
                [
                    ("state", "not in", ("cancel", "draft")),
                    ("move_type", "in", ("out_invoice", "out_receipt")),
                    ("payment_state", "not in", ("in_payment", "paid")),
                    ("invoice_date_due", "<", fields.Date.today()),
                    ("partner_id", "=", partner.id),
                ]
            )
        )
        if (
            not invoices
            or len(invoices.company_id) > 1
            or len(invoices.currency_id) > 1
        ):
            return None
        return (
            invoices.company_id,
            invoices.currency_id,
            sum(invoices.mapped("amount_total")),
            invoices,
        )

    @api.model_create_multi
    def create(self, vals_list):
        # EXTENDS base: a new company gets its statement and seal sequences
        # now, not from two first statements made at once, and the default
        # follow-up levels.
        companies = super().create(vals_list)
        self.env["sale.reconciliation.statement"]._create_statement_sequences(companies)
        self.env["sale.reconciliation.followup.level"]._create_default_levels(companies)
        return companies
