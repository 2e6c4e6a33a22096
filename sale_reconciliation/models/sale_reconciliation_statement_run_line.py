"""One customer of a statement run: where it stands, so that a run
interrupted at any point resumes where it stopped."""

from odoo import _, api, fields, models
from odoo.exceptions import UserError

LINE_STATES = [
    ("todo", "To Do"),
    ("generated", "Generated"),
    ("confirmed", "Confirmed"),
    ("sent", "Sent"),
    ("skipped", "Skipped"),
    ("failed", "Failed"),
]


class SaleReconciliationStatementRunLine(models.Model):
    _name = "sale.reconciliation.statement.run.line"
    _description = "Customer of a Statement Run"
    _inherit = ["sale.reconciliation.run.line.mixin"]
    _check_company_auto = True

    run_id = fields.Many2one("sale.reconciliation.statement.run")
    partner_id = fields.Many2one(index=True)
    date_from = fields.Date(
        string="From",
        required=True,
        readonly=True,
        help="Start of this customer's statement: the run's, or the quarter's "
        "for a customer with quarterly statements.",
    )
    state = fields.Selection(selection=LINE_STATES)
    statement_ids = fields.Many2many(
        "sale.reconciliation.statement",
        string="Statements",
        compute="_compute_statement_ids",
    )

    # -------------------------------------------------------------------------
    # COMPUTE METHODS
    # -------------------------------------------------------------------------

    @api.depends("run_id", "partner_id")
    def _compute_statement_ids(self):
        statements = self.env["sale.reconciliation.statement"].search(
            [("run_id", "in", self.run_id.ids)]
        )
        by_key = statements.grouped(lambda s: (s.run_id.id, s.partner_id.id))
        Statement = self.env["sale.reconciliation.statement"]
        for line in self:
            line.statement_ids = by_key.get(
                (line.run_id.id, line.partner_id.id), Statement
            )

    # -------------------------------------------------------------------------
    # CRUD
    # -------------------------------------------------------------------------

    @api.ondelete(at_uninstall=False)
    def _unlink_except_run_started(self):
        if self.run_id.filtered(lambda run: run.state != "draft"):
            raise UserError(
                _("The customers of a started statement run cannot be removed.")
            )

    # -------------------------------------------------------------------------
    # BUSINESS METHODS
    # -------------------------------------------------------------------------

    def _advance(self):
        """Confirm, then send, the statements of this customer, as far as
        the run goes; the state of the line moves in the same transaction as
        the statements, so a rollback undoes both. The line says confirmed
        or sent only when its statements are, and their emails are queued;
        statements deleted or cancelled meanwhile make it skipped."""
        self.ensure_one()
        operation = self.run_id.operation
        statements = self.statement_ids.filtered(lambda s: s.state != "cancel")
        if not statements:
            self._write_line(
                {
                    "state": "skipped",
                    "reason": _("The statement was cancelled or deleted meanwhile.")
                    if self.statement_ids
                    else _("The statement was deleted meanwhile."),
                }
            )
            return
        if self.state == "generated" and operation in ("confirm", "send"):
            statements.filtered(lambda s: s.state == "draft").action_confirm()
            if statements.filtered(lambda s: s.state == "draft"):
                raise UserError(_("The statement could not be confirmed."))
            self._write_line({"state": "confirmed"})
        if self.state == "confirmed" and operation == "send":
            confirmed = statements.filtered(lambda s: s.state == "confirmed")
            # Confirmed before the run came to send them (by hand, or by an
            # earlier chunk), and the ledger changed since: none is sent.
            error = confirmed._get_ledger_changed_error()
            if error:
                self._write_line({"state": "skipped", "reason": error.args[0][:500]})
                return
            confirmed._send_queued()
            unsent = confirmed.filtered(lambda s: s.state != "sent")
            unsent |= self._get_statements_without_mail(confirmed)
            if unsent:
                raise UserError(
                    _(
                        "No email was queued for the statement %(name)s.",
                        name=unsent[:1].name,
                    )
                )
            self._write_line({"state": "sent"})

    def _get_statements_without_mail(self, statements):
        """Those of ``statements`` with no email in Odoo's mail queue."""
        # sudo: mail.mail - the run checks the emails it just queued; the
        # queue is technical.
        mails = (
            self.env["mail.mail"]
            .sudo()
            .search(
                [
                    ("model", "=", statements._name),
                    ("res_id", "in", statements.ids),
                    ("state", "=", "outgoing"),
                ]
            )
        )
        return statements - statements.browse(mails.mapped("res_id"))
