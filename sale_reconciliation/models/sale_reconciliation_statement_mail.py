"""Customer statements: sending by email and chasing unanswered ones."""

from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .reconciliation_access import MANAGER_GROUP

# The copy address of a statement email sent by a run travels in the context
# as this type: a JSON-RPC client can set a context key, never to an object of
# it, so no caller adds a copy address to Odoo's notifications.
STATEMENT_CC_KEY = "sale_reconciliation_statement_cc"


class StatementCopy(str):
    """An address the statement email is copied to."""


# One file per concern of the statement, as Odoo splits its large models.
class SaleReconciliationStatement(models.Model):
    _inherit = "sale.reconciliation.statement"  # pylint: disable=consider-merging-classes-inherited

    # -------------------------------------------------------------------------
    # MAIL
    # -------------------------------------------------------------------------

    @api.returns("mail.message", lambda value: value.id)
    def message_post(self, **kwargs):
        # The composer opened by Send by Email asks to mark the statement sent
        # with a context key. Any client can set it, and Odoo's chatter posts
        # as superuser: it counts only for a user who may send statements.
        # Whoever sends it, and however (the chatter's composer too, with or
        # without that key), no statement out of date with the ledger goes
        # out to the customer.
        if self.env.context.get("mark_statement_as_sent") or self._posts_outside(
            kwargs
        ):
            self.filtered(
                lambda s: s.state in ("confirmed", "sent")
            )._check_ledger_unchanged()
        if self.env.context.get("mark_statement_as_sent") and self.env.user.has_group(
            MANAGER_GROUP
        ):
            self.filtered(lambda s: s.state == "confirmed")._mark_sent()
        return super().message_post(**kwargs)

    def _posts_outside(self, post_values):
        """Whether a message_post with ``post_values`` goes out of the
        company: a message (not an internal note) to named recipients or to
        followers of whom one is not an internal user."""
        if post_values.get("message_type", "notification") not in ("comment", "email"):
            return False
        subtype_xmlid = post_values.get("subtype_xmlid")
        subtype_id = post_values.get("subtype_id")
        if not (subtype_xmlid or subtype_id):
            return False  # Odoo posts it as a note
        subtype = (
            self.env.ref(subtype_xmlid, raise_if_not_found=False)
            if subtype_xmlid
            else self.env["mail.message.subtype"].browse(subtype_id)
        )
        if not subtype or subtype.internal or post_values.get("is_internal"):
            return False
        # sudo: res.partner - whether the recipients are internal users is
        # read for whoever posts.
        partners = (
            self.env["res.partner"].sudo().browse(post_values.get("partner_ids") or [])
            | self.sudo().message_partner_ids
        )
        return any(
            not partner.user_ids or any(user.share for user in partner.user_ids)
            for partner in partners
        )

    def _notify_by_email_get_final_mail_values(
        self, recipient_ids, mail_values, additional_values=None
    ):
        # EXTENDS mail: the salesperson in copy of a statement sent by a run.
        values = super()._notify_by_email_get_final_mail_values(
            recipient_ids, mail_values, additional_values=additional_values
        )
        copy = self.env.context.get(STATEMENT_CC_KEY)
        if isinstance(copy, StatementCopy):
            values["email_cc"] = str(copy)
        return values

    def _get_report_base_filename(self):
        self.ensure_one()
        return _("Statement %(name)s", name=self.name)

    def _send_with_template(self, template=None):
        """Email each statement with its PDF, in its customer's language,
        without opening the composer; each email is posted on its statement."""
        self._check_ledger_unchanged()
        template = template or self.env.ref(
            "sale_reconciliation.mail_template_statement"
        )
        composer = (
            self.env["mail.compose.message"]
            .with_context(
                default_model=self._name,
                default_res_ids=self.ids,
                default_template_id=template.id,
                default_composition_mode="comment",
                mark_statement_as_sent=True,
            )
            .create({})
        )
        composer.action_send_mail()

    def _get_statement_recipient(self):
        """Who receives the statement: the statement contact chosen on the
        customer, or else its invoice address."""
        self.ensure_one()
        customer = self.partner_id
        contact = customer.statement_contact_id
        # A contact of another customer (stored before the check existed) is
        # never emailed a statement.
        if contact and customer._is_own_statement_contact(contact):
            return contact
        return customer.browse(customer.address_get(["invoice"])["invoice"])

    def _send_queued(self):
        """Email each statement to its customer's statement contact, its PDF
        rendered once and attached, through Odoo's mail queue (never sent
        from here), and mark it sent: the email and the state change are in
        the same transaction."""
        self._check_ledger_unchanged()
        template = self.env.ref("sale_reconciliation.mail_template_statement")
        report = template.report_template_ids[:1] or self.env.ref(
            "sale_reconciliation.action_report_statement"
        )
        for statement in self:
            recipient = statement._get_statement_recipient()
            if not recipient.email:
                raise UserError(
                    _(
                        "No email address for the statements of %(customer)s: "
                        "give %(contact)s one, or choose a statement contact.",
                        customer=statement.partner_id.display_name,
                        contact=recipient.display_name,
                    )
                )
            values = template._generate_template(
                statement.ids, ["subject", "body_html", "email_from"]
            )[statement.id]
            lang = recipient.lang or statement.partner_id.lang
            content, report_format = (
                self.env["ir.actions.report"]
                .with_context(lang=lang)
                ._render_qweb_pdf(report, [statement.id])
            )
            attachment = self.env["ir.attachment"].create(
                {
                    "name": f"{statement._get_report_base_filename()}.{report_format}",
                    "raw": content,
                    "res_model": statement._name,
                    "res_id": statement.id,
                    "mimetype": "application/pdf"
                    if report_format == "pdf"
                    else "text/html",
                }
            )
            salesperson = statement.partner_id.user_id
            context = {}
            if statement.company_id.statement_cc_salesperson and salesperson.email:
                context[STATEMENT_CC_KEY] = StatementCopy(
                    salesperson.partner_id.email_formatted
                )
            statement.with_context(**context).message_post(
                body=values.get("body_html") or "",
                subject=values.get("subject"),
                email_from=values.get("email_from") or None,
                partner_ids=recipient.ids,
                attachment_ids=attachment.ids,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
                email_layout_xmlid="mail.mail_notification_layout",
                force_send=False,
                mail_auto_delete=template.auto_delete,
            )
        self._mark_sent()

    @api.model
    def _cron_remind_unanswered(self):
        """An activity for the responsible of each statement sent and not
        answered for longer than its company allows."""
        activity_type = self.env.ref(
            "sale_reconciliation.mail_activity_type_statement_followup"
        )
        now = fields.Datetime.now()
        for company in self.env["res.company"].search(
            [("statement_reminder_days", ">", 0)]
        ):
            limit = now - relativedelta(days=company.statement_reminder_days)
            statements = self.search(
                [
                    ("company_id", "=", company.id),
                    ("state", "=", "sent"),
                    ("sent_date", "<=", limit),
                ]
            )
            for statement in statements.filtered(
                lambda s: activity_type not in s.activity_ids.activity_type_id
            ):
                statement.activity_schedule(
                    activity_type_id=activity_type.id,
                    user_id=statement.user_id.id or self.env.uid,
                    note=_(
                        "%(customer)s has not answered statement %(name)s, sent on "
                        "%(date)s.",
                        customer=statement.partner_id.name,
                        name=statement.name,
                        date=fields.Date.to_date(statement.sent_date),
                    ),
                )
