"""Customer statements: the workflow from draft to the customer's answer."""

from odoo import _, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_amount

from .reconciliation_access import check_reconciliation_manager


# One file per concern of the statement, as Odoo splits its large models.
class SaleReconciliationStatement(models.Model):
    _inherit = "sale.reconciliation.statement"  # pylint: disable=consider-merging-classes-inherited

    # -------------------------------------------------------------------------
    # ACTIONS
    # -------------------------------------------------------------------------

    def action_refresh(self):
        self._check_state({"draft"}, _("refresh it from the ledger"))
        self._check_period_open()
        self._fill_from_ledger()
        return True

    def action_confirm(self):
        check_reconciliation_manager(self.env, _("confirm statements"))
        self._check_state({"draft"}, _("confirm it"))
        for statement in self:
            if (
                statement.company_id.statement_review_required
                and statement.create_uid == self.env.user
                and not self.env.su
            ):
                raise UserError(
                    _(
                        "Statements of %(company)s must be reviewed by another user: "
                        "%(user)s prepared %(name)s and cannot confirm it.",
                        company=statement.company_id.name,
                        user=self.env.user.name,
                        name=statement.name,
                    )
                )
        self._reread_ledger_before_confirming()
        self._write_workflow(
            {
                "state": "confirmed",
                "confirmed_by_id": self.env.user.id,
                "confirmed_date": fields.Datetime.now(),
            }
        )
        return True

    def action_send(self):
        """Email the statement with its PDF: the composer for one statement,
        straight out for several."""
        check_reconciliation_manager(self.env, _("send statements"))
        self._check_state({"confirmed", "sent"}, _("send it"))
        self._check_ledger_unchanged()
        template = self.env.ref(
            "sale_reconciliation.mail_template_statement", raise_if_not_found=False
        )
        if len(self) > 1:
            self._send_with_template(template)
            return True
        lang = template._render_lang(self.ids)[self.id] if template else None
        return {
            "type": "ir.actions.act_window",
            "res_model": "mail.compose.message",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {
                "default_model": self._name,
                "default_res_ids": self.ids,
                "default_template_id": template.id if template else False,
                "default_composition_mode": "comment",
                "default_email_layout_xmlid": "mail.mail_notification_layout",
                "force_email": True,
                "mark_statement_as_sent": True,
                "lang": lang,
            },
        }

    def action_mark_sent(self):
        """Handed over on paper: sent without an email."""
        check_reconciliation_manager(self.env, _("send statements"))
        self._check_state({"confirmed"}, _("mark it as sent"))
        self._check_ledger_unchanged()
        self._mark_sent()
        return True

    def action_accept(self, accepted_by=None, signature=None):
        """Record, from the back office, that the customer agrees with the
        statement: ``accepted_by`` is the name they signed with (the
        customer's name by default), ``signature`` an optional image
        (base64). Who recorded it is kept beside the customer's name."""
        check_reconciliation_manager(self.env, _("record a customer's answer"))
        self._accept(accepted_by, signature, channel="backoffice")
        return True

    def action_dispute(self, reason, line_comments=None):
        """Record, from the back office, that the customer disagrees:
        ``reason`` says why, ``line_comments`` ({line id: comment}) which
        lines are wrong."""
        check_reconciliation_manager(self.env, _("record a customer's answer"))
        self._dispute(reason, line_comments, channel="backoffice")
        return True

    def action_open_dispute_wizard(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Customer Disputes the Statement"),
            "res_model": "sale.reconciliation.statement.dispute",
            "view_mode": "form",
            "target": "new",
            "context": {"default_statement_id": self.id},
        }

    def action_revise(self):
        """Replace disputed statements, or confirmed or sent ones whose ledger
        changed since, by new drafts for the same customer, period and
        currency, read again from the ledger."""
        check_reconciliation_manager(self.env, _("revise statements"))
        self._check_state({"disputed", "confirmed", "sent"}, _("revise it"))
        outdated = self.filtered(lambda s: s.state != "disputed")
        totals = outdated._read_ledger_totals()
        for statement in outdated:
            ledger = totals.get(statement.id)
            if not ledger or not statement._differs_from_ledger(ledger):
                raise UserError(
                    _(
                        "Statement %(name)s still matches the ledger: only a "
                        "disputed statement, or one whose ledger changed since it "
                        "was confirmed, is revised.",
                        name=statement.name,
                    )
                )
        self._write_workflow({"state": "cancel"})
        revisions = self._create_workflow(
            [
                {
                    "partner_id": statement.partner_id.id,
                    "company_id": statement.company_id.id,
                    "currency_id": statement.currency_id.id,
                    "date_from": statement.date_from,
                    "date_to": statement.date_to,
                    "statement_type": statement.statement_type,
                    "user_id": statement.user_id.id,
                    "revised_from_id": statement.id,
                }
                for statement in self
            ]
        )
        for statement, revision in zip(self, revisions, strict=True):
            if statement in outdated:
                body = _(
                    "Revised by %(revision)s: the ledger changed since this "
                    "statement was confirmed.",
                    revision=revision._get_html_link(),
                )
            else:
                body = _("Revised by %(revision)s.", revision=revision._get_html_link())
            statement.message_post(body=body)
        if len(revisions) == 1:
            return {
                "type": "ir.actions.act_window",
                "res_model": self._name,
                "res_id": revisions.id,
                "view_mode": "form",
            }
        return True

    def action_cancel(self):
        check_reconciliation_manager(self.env, _("cancel statements"))
        self._check_state({"draft", "confirmed", "sent", "disputed"}, _("cancel it"))
        self._write_workflow({"state": "cancel"})
        return True

    def action_draft(self):
        check_reconciliation_manager(self.env, _("reset statements to draft"))
        self._check_state({"confirmed", "cancel"}, _("reset it to draft"))
        self._check_period_open()
        # A new round: nothing of the previous one's answer stays.
        self._write_workflow(
            {
                "state": "draft",
                "confirmed_by_id": False,
                "confirmed_date": False,
                "sent_date": False,
                "dispute_reason": False,
                "disputed_date": False,
                "answer_channel": False,
                "answer_recorded_by_id": False,
            }
        )
        self._fill_from_ledger()
        return True

    # -------------------------------------------------------------------------
    # BUSINESS METHODS
    # -------------------------------------------------------------------------

    def _mark_sent(self):
        check_reconciliation_manager(self.env, _("send statements"))
        self._check_ledger_unchanged()
        self._write_workflow({"state": "sent", "sent_date": fields.Datetime.now()})
        for statement in self:
            statement._portal_ensure_token()

    def _get_ledger_changed_error(self):
        """The refusal to send the first of these statements whose ledger
        changed since it was confirmed, or None when all still match it."""
        totals = self._read_ledger_totals()
        for statement in self:
            ledger = totals.get(statement.id)
            if ledger and statement._differs_from_ledger(ledger):
                currency = statement.currency_id
                return UserError(
                    _(
                        "The ledger of %(customer)s changed since statement "
                        "%(name)s was confirmed: the statement closes at %(then)s, "
                        "the ledger now at %(now)s. It cannot be sent as it is: "
                        "click Revise to replace it with a statement read again "
                        "from the ledger.",
                        customer=statement.partner_id.display_name,
                        name=statement.name,
                        then=format_amount(
                            self.env, statement.closing_balance, currency
                        ),
                        now=format_amount(
                            self.env,
                            ledger["opening"] + ledger["debit"] - ledger["credit"],
                            currency,
                        ),
                    )
                )
        return None

    def _check_ledger_unchanged(self):
        """Refuse to send statements whose ledger changed since they were
        confirmed: every way of sending one calls this, whatever its context."""
        error = self._get_ledger_changed_error()
        if error:
            raise error

    def _accept(self, accepted_by, signature, channel):
        """The customer's acceptance, through the portal or recorded by a
        manager: sealed at once."""
        self._check_state({"sent"}, _("record the customer's acceptance"))
        now = fields.Datetime.now()
        for statement in self:
            statement._write_workflow(
                {
                    "accepted_by": (accepted_by or "").strip()
                    or statement.partner_id.name,
                    "accepted_date": now,
                    "signature": signature or False,
                    **self._prepare_answer_vals(channel),
                }
            )
            statement._seal()

    def _prepare_answer_vals(self, channel):
        """How the customer's answer came in: online, or recorded by the
        current user from the back office."""
        return {
            "answer_channel": channel,
            "answer_recorded_by_id": self.env.user.id
            if channel == "backoffice"
            else False,
        }

    def _dispute(self, reason, line_comments, channel):
        """The customer's dispute, through the portal or recorded by a
        manager."""
        self._check_state({"sent"}, _("record the customer's dispute"))
        reason = (reason or "").strip()
        if not reason:
            raise UserError(_("Say why the customer disputes the statement."))
        comments = {
            int(line_id): comment.strip()
            for line_id, comment in (line_comments or {}).items()
            if comment and comment.strip()
        }
        if comments:
            lines = self.env["sale.reconciliation.statement.line"].browse(
                list(comments)
            )
            foreign = lines - self.line_ids.filtered(
                lambda line: line.display_type == "entry"
            )
            if foreign:
                raise UserError(
                    _(
                        "A comment names a line that is not a journal item of "
                        "statement %(name)s.",
                        name=", ".join(self.mapped("name")),
                    )
                )
            for line in lines:
                # sudo: statement lines are read-only for every user; the
                # customer's comments come with the dispute, checked above.
                line.sudo()._write_workflow({"dispute_comment": comments[line.id]})
        self._write_workflow(
            {
                "state": "disputed",
                "dispute_reason": reason,
                "disputed_date": fields.Datetime.now(),
                **self._prepare_answer_vals(channel),
            }
        )

    def _reread_ledger_before_confirming(self):
        """What is confirmed is what the ledger says now: drafts are read
        again, and a change since they were prepared is told in their
        chatter. A statement of a closed period keeps its lines, so it is
        refused when the ledger no longer matches them."""
        before = {
            statement.id: (statement.closing_balance, statement.entry_count)
            for statement in self
        }
        closed = self._get_closed_period_statements()
        if closed:
            totals = closed._read_ledger_totals()
            for statement in closed:
                ledger = totals[statement.id]
                closing = ledger["opening"] + ledger["debit"] - ledger["credit"]
                if statement._differs_from_ledger(ledger):
                    raise UserError(
                        _(
                            "The ledger of %(customer)s changed since statement "
                            "%(name)s was prepared (closing balance %(then)s, now "
                            "%(now)s) and its period is closed: cancel it and make "
                            "a new one once the period is reopened.",
                            customer=statement.partner_id.display_name,
                            name=statement.name,
                            then=statement.closing_balance,
                            now=closing,
                        )
                    )
        (self - closed)._fill_from_ledger()
        for statement in self - closed:
            closing, entries = before[statement.id]
            if (
                statement.currency_id.compare_amounts(
                    closing, statement.closing_balance
                )
                or entries != statement.entry_count
            ):
                statement.message_post(
                    body=_(
                        "Read again from the ledger on confirmation: closing "
                        "balance %(then)s (%(then_entries)s entries) when "
                        "prepared, %(now)s (%(now_entries)s entries) confirmed.",
                        then=closing,
                        then_entries=entries,
                        now=statement.closing_balance,
                        now_entries=statement.entry_count,
                    )
                )

    def _record_customer_answer(self, author, ip_address):
        """Log in the chatter who answered, when and from where, and give the
        responsible salesperson an activity to follow the answer up."""
        now = fields.Datetime.to_string(fields.Datetime.now())
        for statement in self:
            if statement.state == "accepted":
                body = _(
                    "%(name)s confirmed the statement on %(when)s UTC from "
                    "%(ip)s. Content hash: %(hash)s.",
                    name=statement.accepted_by,
                    when=now,
                    ip=ip_address or _("an unknown address"),
                    hash=statement.content_hash,
                )
                summary = _(
                    "Customer confirmed statement %(name)s", name=statement.name
                )
            else:
                body = _(
                    "%(name)s disputed the statement on %(when)s UTC from "
                    "%(ip)s: %(reason)s (%(count)s lines commented).",
                    name=author.name,
                    when=now,
                    ip=ip_address or _("an unknown address"),
                    reason=statement.dispute_reason,
                    count=statement.dispute_line_count,
                )
                summary = _("Customer disputed statement %(name)s", name=statement.name)
            statement.message_post(
                body=body,
                author_id=author.id,
                message_type="comment",
                subtype_xmlid="mail.mt_note",
            )
            statement.activity_feedback(
                ["sale_reconciliation.mail_activity_type_statement_followup"],
                feedback=_("The customer answered."),
            )
            responsible = (
                statement.user_id
                or statement.partner_id.user_id
                or statement.create_uid
            )
            statement.activity_schedule(
                "mail.mail_activity_data_todo",
                user_id=responsible.id,
                summary=summary,
                note=body,
            )
