"""Customer statements: sending by email and chasing unanswered ones."""

from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models

from .reconciliation_access import MANAGER_GROUP


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
        if self.env.context.get("mark_statement_as_sent") and self.env.user.has_group(
            MANAGER_GROUP
        ):
            self.filtered(lambda s: s.state == "confirmed")._mark_sent()
        return super().message_post(**kwargs)

    def _get_report_base_filename(self):
        self.ensure_one()
        return _("Statement %(name)s", name=self.name)

    def _send_with_template(self, template=None):
        """Email each statement with its PDF, in its customer's language,
        without opening the composer; each email is posted on its statement."""
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
