from markupsafe import Markup, escape

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_amount

from .reconciliation_access import CREDIT_MANAGER_GROUP


class SaleReconciliationFollowupHistory(models.Model):
    """A reminder sent to a customer: who sent it, when, at which level, for
    which invoices. The reminder email and letter are rendered from it."""

    _name = "sale.reconciliation.followup.history"
    _description = "Follow-up Reminder"
    _order = "date desc, id desc"
    _rec_name = "partner_id"
    _check_company_auto = True

    profile_id = fields.Many2one(
        "sale.reconciliation.credit.profile",
        required=True,
        index=True,
        ondelete="cascade",
        readonly=True,
    )
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, readonly=True
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, readonly=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    user_id = fields.Many2one(
        related="partner_id.user_id",
        string="Salesperson",
        store=True,
        index=True,
    )
    level_id = fields.Many2one(
        "sale.reconciliation.followup.level",
        required=True,
        index=True,
        readonly=True,
        # A level that reminded someone cannot be deleted (see the level's
        # _unlink_except_used); cascade only lets the module uninstall.
        ondelete="cascade",
    )
    date = fields.Date(required=True, index=True, readonly=True)
    sent_by_id = fields.Many2one(
        "res.users",
        readonly=True,
        help="The credit manager who processed it, or the scheduled action's " "user.",
    )
    recipient_id = fields.Many2one("res.partner", readonly=True)
    move_ids = fields.Many2many(
        "account.move",
        relation="sale_reconciliation_followup_history_move_rel",
        string="Invoices",
        readonly=True,
    )
    amount = fields.Monetary(
        string="Amount Reminded",
        readonly=True,
        help="What the instalments listed still owed when the reminder was "
        "sent, net of the customer's credits, in the company's currency (the "
        "reminder itself states each currency's own total).",
    )
    line_ids = fields.One2many(
        "sale.reconciliation.followup.history.line",
        "history_id",
        string="Lines",
        readonly=True,
    )
    message_id = fields.Many2one("mail.message", readonly=True)
    letter_id = fields.Many2one("ir.attachment", readonly=True)
    portal_url = fields.Char(compute="_compute_portal_url")
    pay_url = fields.Char(
        string="Online Payment Link",
        compute="_compute_portal_url",
        help="Odoo's page where the customer pays all its overdue invoices "
        "at once, when the company has an online payment provider.",
    )

    # -------------------------------------------------------------------------
    # COMPUTE METHODS
    # -------------------------------------------------------------------------

    @api.depends("company_id", "recipient_id", "line_ids")
    def _compute_portal_url(self):
        for history in self:
            base_url = history.get_base_url()
            history.portal_url = f"{base_url}/my/invoices"
            history.pay_url = (
                f"{base_url}/my/invoices/overdue"
                if history._overdue_payment_page_matches()
                else False
            )

    def _overdue_payment_page_matches(self):
        """Whether Odoo's page paying all overdue invoices at once asks the
        recipient for exactly what this reminder asks: the same invoices and
        the same amount, in one currency. That page charges the invoices'
        totals: with a partial payment, a credit set against them or another
        overdue invoice, the reminder links to the invoices, each payable
        for what it still owes."""
        self.ensure_one()
        if not self.company_id._has_online_payment_provider():
            return False
        page = self.company_id._get_overdue_payment_page(self.recipient_id)
        totals = self._get_totals()
        if not page or len(totals) != 1:
            return False
        company, currency, amount, invoices = page
        return (
            company == self.company_id
            and currency == totals[0]["currency"]
            and invoices
            == self.line_ids.filtered(lambda line: line.kind == "due").move_id
            and not currency.compare_amounts(amount, totals[0]["amount"])
        )

    # -------------------------------------------------------------------------
    # CRUD
    # -------------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        # Made by the follow-up only (as superuser, after its own checks).
        if not self.env.su:
            self.env["sale.reconciliation.credit.profile"]._followup_check_rights()
        return super().create(vals_list)

    # -------------------------------------------------------------------------
    # HELPERS (reports and mail templates)
    # -------------------------------------------------------------------------

    def _get_lines(self):
        """The instalments of the reminder, oldest due first, each with its
        due date, days overdue at the reminder's date, what it still owed
        (``residual``) and what it owed net of the customer's credits
        (``amount``), in its own ``currency``."""
        self.ensure_one()
        if not self.line_ids:
            # A reminder sent before its lines were kept (18.0.1.5.0): its
            # invoices, as they stand now.
            return [
                {
                    "move": move,
                    "due": move.invoice_date_due,
                    "days": (self.date - move.invoice_date_due).days
                    if move.invoice_date_due
                    else 0,
                    "residual": move.amount_residual,
                    "amount": move.amount_residual,
                    "currency": move.currency_id,
                }
                for move in self.move_ids.sorted(
                    lambda move: (move.invoice_date_due or self.date, move.id)
                )
            ]
        return [
            {
                "move": line.move_id,
                "due": line.date,
                "days": line.days_overdue,
                "residual": line.amount_residual,
                "amount": line.amount,
                "currency": line.currency_id,
            }
            for line in self.line_ids.filtered(lambda line: line.kind == "due")
        ]

    def _get_credits(self):
        """The customer's credits the reminder set against its instalments:
        unapplied payments and credit notes, collections in hand."""
        self.ensure_one()
        return [
            {
                "reference": line._reference(),
                "date": line.date,
                "amount": line.amount,
                "currency": line.currency_id,
            }
            for line in self.line_ids.filtered(lambda line: line.kind == "credit")
        ]

    def _get_totals(self):
        """What the reminder asks to pay, one total per currency."""
        self.ensure_one()
        totals = {}
        for line in self._get_lines():
            totals[line["currency"]] = (
                totals.get(line["currency"], 0.0) + line["amount"]
            )
        return [
            {"currency": currency, "amount": amount}
            for currency, amount in sorted(totals.items(), key=lambda t: t[0].name)
        ]

    def _format_totals(self):
        return ", ".join(
            format_amount(self.env, total["amount"], total["currency"])
            for total in self._get_totals()
        )

    def _get_report_base_filename(self):
        self.ensure_one()
        return _(
            "Reminder %(customer)s %(date)s",
            customer=self.partner_id.name,
            date=self.date,
        )

    def _render_letter(self):
        """The letter PDF, in the customer's language, attached here."""
        self.ensure_one()
        report = self.env.ref("sale_reconciliation.action_report_followup_letter")
        content, report_format = (
            self.env["ir.actions.report"]
            .with_context(lang=self.partner_id.lang)
            ._render_qweb_pdf(report, self.ids)
        )
        attachment = self.env["ir.attachment"].create(
            {
                "name": f"{self._get_report_base_filename()}.{report_format}",
                "raw": content,
                "res_model": self._name,
                "res_id": self.id,
                "mimetype": "application/pdf"
                if report_format == "pdf"
                else "text/html",
            }
        )
        self.letter_id = attachment
        return attachment

    def _get_email_attachments(self):
        self.ensure_one()
        Attachment = self.env["ir.attachment"]
        lang = self.recipient_id.lang or self.partner_id.lang
        Report = self.env["ir.actions.report"].with_context(lang=lang)
        kind = self.level_id.attachment_type
        if kind == "invoices":
            report = self.env.ref("account.account_invoices")
            for move in self.move_ids.filtered(lambda m: m.is_invoice()):
                content, report_format = Report._render_qweb_pdf(report, move.ids)
                Attachment |= Attachment.create(
                    {
                        "name": f"{move._get_report_base_filename()}.{report_format}",
                        "raw": content,
                        "res_model": self._name,
                        "res_id": self.id,
                        "mimetype": "application/pdf"
                        if report_format == "pdf"
                        else "text/html",
                    }
                )
        elif kind == "statement":
            statement = self.env["sale.reconciliation.statement"].search(
                [
                    ("partner_id", "=", self.partner_id.id),
                    ("company_id", "=", self.company_id.id),
                    ("state", "in", ("confirmed", "sent", "accepted")),
                ],
                order="date_to desc, id desc",
                limit=1,
            )
            if statement:
                report = self.env.ref("sale_reconciliation.action_report_statement")
                content, report_format = Report._render_qweb_pdf(report, statement.ids)
                Attachment |= Attachment.create(
                    {
                        "name": f"{statement._get_report_base_filename()}."
                        f"{report_format}",
                        "raw": content,
                        "res_model": self._name,
                        "res_id": self.id,
                        "mimetype": "application/pdf"
                        if report_format == "pdf"
                        else "text/html",
                    }
                )
        return Attachment

    def _post_email(self, attachments):
        """Post the reminder in the customer's chatter and email it to the
        recipient through Odoo's mail queue (never sent from here)."""
        self.ensure_one()
        template = self.level_id.mail_template_id
        if not self.level_id._has_reminder_template():
            raise UserError(
                _(
                    "The email template of follow-up level %(level)s is not a "
                    "template of follow-up reminders.",
                    level=self.level_id.name,
                )
            )
        values = template._generate_template(
            self.ids, ["subject", "body_html", "email_from"]
        )[self.id]
        attachments |= self._get_email_attachments()
        return self.partner_id.message_post(
            body=values.get("body_html") or "",
            subject=values.get("subject"),
            email_from=values.get("email_from") or None,
            partner_ids=self.recipient_id.ids,
            attachment_ids=attachments.ids,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
            email_layout_xmlid="mail.mail_notification_light",
            force_send=False,
            mail_auto_delete=template.auto_delete,
        )

    def _summary(self):
        """A note of the reminder for the customer's chatter."""
        self.ensure_one()
        return Markup("%s<ul>%s</ul>") % (
            escape(
                _(
                    "Follow-up %(level)s: %(amount)s overdue.",
                    level=self.level_id.name,
                    amount=self._format_totals(),
                )
            ),
            Markup().join(
                Markup("<li>%s</li>")
                % _(
                    "%(invoice)s due %(date)s: %(amount)s",
                    invoice=line["move"].name,
                    date=line["due"],
                    amount=format_amount(self.env, line["amount"], line["currency"]),
                )
                for line in self._get_lines()
            ),
        )

    def _schedule_activity(self):
        self.ensure_one()
        level = self.level_id
        profile = self.profile_id
        if profile.followup_responsible_id:
            users = profile.followup_responsible_id
        elif level.activity_user == "credit_managers":
            users = (
                self.env.ref(CREDIT_MANAGER_GROUP)
                .users.filtered(lambda u: self.company_id in u.company_ids)
                .filtered(lambda u: not u._is_superuser() and u.active)
            )
        else:
            users = self.partner_id.user_id
        users = users or self.env.user
        activity_type = level.activity_type_id or self.env.ref(
            "mail.mail_activity_data_todo"
        )
        for user in users:
            self.partner_id.activity_schedule(
                activity_type_id=activity_type.id,
                user_id=user.id,
                summary=level.name,
                note=level.activity_note
                or _(
                    "%(customer)s reached follow-up level %(level)s with "
                    "%(amount)s overdue.",
                    customer=self.partner_id.name,
                    level=level.name,
                    amount=self._format_totals(),
                ),
            )
