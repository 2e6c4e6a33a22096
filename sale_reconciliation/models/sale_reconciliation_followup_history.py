from markupsafe import Markup, escape

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_amount

CREDIT_MANAGER_GROUP = "sale_reconciliation.group_credit_manager"


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
        help="What the invoices listed still owed when the reminder was sent.",
    )
    message_id = fields.Many2one("mail.message", readonly=True)
    letter_id = fields.Many2one("ir.attachment", readonly=True)
    portal_url = fields.Char(compute="_compute_portal_url")

    # -------------------------------------------------------------------------
    # COMPUTE METHODS
    # -------------------------------------------------------------------------

    @api.depends("company_id")
    def _compute_portal_url(self):
        for history in self:
            history.portal_url = f"{history.get_base_url()}/my/invoices"

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
        """The invoices of the reminder, oldest due first, with what they
        still owe and their days overdue at the reminder's date."""
        self.ensure_one()
        lines = []
        for move in self.move_ids.sorted(lambda m: (m.invoice_date_due, m.id)):
            due = move.invoice_date_due
            lines.append(
                {
                    "move": move,
                    "due": due,
                    "days": (self.date - due).days if due else 0,
                    "residual": move.amount_residual_signed,
                }
            )
        return lines

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
                    amount=format_amount(self.env, self.amount, self.currency_id),
                )
            ),
            Markup().join(Markup("<li>%s</li>") % move.name for move in self.move_ids),
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
                    amount=format_amount(self.env, self.amount, self.currency_id),
                ),
            )
