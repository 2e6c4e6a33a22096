"""Scheduled payment matching: a run a day per company, one line per customer
with payments or credit notes and invoices open, matched a chunk of customers
per transaction; each customer's state is kept on its line, in the same
transaction as its matches, so that a run interrupted at any point resumes
without matching anything twice (on the run engine,
sale_reconciliation_run_mixin.py)."""

import logging

from odoo import _, api, fields, models

from .payment_matching import AUTOMATIC_RULES
from .reconciliation_access import check_reconciliation_manager
from .sale_reconciliation_run_mixin import is_concurrency_error

_logger = logging.getLogger(__name__)

CHUNK_SIZE_PARAM = "sale_reconciliation.match_run_chunk_size"
# The bench's customers have five automatic matches each: 25 of them took
# about 9 s on a busy two-core machine, under a third of the engine's 30 s.
DEFAULT_CHUNK_SIZE = 25
PROCESS_CRON_XMLID = "sale_reconciliation.ir_cron_match_payments"


class SaleReconciliationMatchRun(models.Model):
    _name = "sale.reconciliation.match.run"
    _description = "Scheduled Payment Matching"
    _inherit = ["sale.reconciliation.daily.run.mixin"]

    _run_line_model = "sale.reconciliation.match.run.line"
    _run_process_cron = PROCESS_CRON_XMLID
    _run_chunk_size_param = CHUNK_SIZE_PARAM
    _run_default_chunk_size = DEFAULT_CHUNK_SIZE
    _run_count_fields = {
        "done_count": "done",
        "failed_count": "failed",
        "todo_count": "todo",
    }

    line_ids = fields.One2many("sale.reconciliation.match.run.line")
    state = fields.Selection(
        help="Failed: the run went through every customer, and some failed "
        "(they are listed with the reason), or it stopped on an error. "
        "Cancelled: stopped by a reconciliation manager; what was matched "
        "stays matched."
    )
    matched_count = fields.Integer(
        string="Matched",
        compute="_compute_match_counts",
        help="Payments and credit notes matched with invoices.",
    )
    refused_count = fields.Integer(
        string="Refused",
        compute="_compute_match_counts",
        help="Matches Odoo refused; the customers' lines say why.",
    )
    done_count = fields.Integer(string="Customers Done", compute="_compute_counts")

    _sql_constraints = [
        (
            "company_date_uniq",
            "UNIQUE(company_id, date)",
            "A company has one scheduled payment matching a day.",
        ),
    ]

    # -------------------------------------------------------------------------
    # COMPUTE METHODS
    # -------------------------------------------------------------------------

    @api.depends("line_ids.matched_count", "line_ids.refused_count")
    def _compute_match_counts(self):
        sums = {
            run.id: (matched, refused)
            for run, matched, refused in self.env[self._run_line_model]._read_group(
                [("run_id", "in", self.ids)],
                ["run_id"],
                ["matched_count:sum", "refused_count:sum"],
            )
        }
        for run in self:
            run.matched_count, run.refused_count = sums.get(run.id, (0, 0))

    def _get_run_title(self, company_name, date):
        return _(
            "Payment matching of %(company)s on %(date)s",
            company=company_name,
            date=date,
        )

    # -------------------------------------------------------------------------
    # SCHEDULED ACTION
    # -------------------------------------------------------------------------

    @api.model
    def _start(self, company, today):
        """Today's run of ``company``: one line per customer with payments or
        credit notes and invoices open (none when the company has a run of
        today, or one still running: the running one goes on). A company
        whose run cannot start is logged and tried again at the next call;
        the other companies go on."""
        if self.search_count(
            [
                ("company_id", "=", company.id),
                "|",
                ("date", "=", today),
                ("state", "=", "running"),
            ]
        ):
            return self
        try:
            with self.env.cr.savepoint():
                partner_ids = self._get_scope_partner_ids(company)
                if not partner_ids:
                    return self
                return self._create_run(
                    company,
                    today,
                    [{"partner_id": partner_id} for partner_id in partner_ids],
                )
        except Exception as exc:  # noqa: BLE001 - the other companies go on
            if is_concurrency_error(exc):
                raise
            _logger.exception(
                "Payment matching in %s not started: nothing matched in it",
                company.name,
            )
            return self

    @api.model
    def _get_scope_partner_ids(self, company):
        """The customers (commercial partners) of ``company`` with both an
        open invoice and an open payment or credit note on a receivable
        account: only they can have something to match."""
        wizard = self.env["sale.reconciliation.match"].new({"company_id": company.id})
        debits, credits = set(), set()
        for partner, lowest, highest in self.env["account.move.line"]._read_group(
            wizard._get_open_items_domain(),
            ["partner_id"],
            ["amount_residual_currency:min", "amount_residual_currency:max"],
        ):
            customer = partner.commercial_partner_id.id
            if highest > 0:
                debits.add(customer)
            if lowest < 0:
                credits.add(customer)
        return sorted(debits & credits)

    # -------------------------------------------------------------------------
    # PROCESSING (the run engine's hooks)
    # -------------------------------------------------------------------------

    def _check_run_manager(self, what):
        # OVERRIDE: the matching is the reconciliation managers' (the daily
        # runs' default is the credit managers').
        check_reconciliation_manager(self.env, what)

    def _process_lines(self, lines):
        """Match these customers together, their proposals reconciled in
        batches (``sale.reconciliation.match.line._reconcile``); a chunk that
        raises is done again customer by customer, so that the customer that
        raises fails, with its reason, and the others are matched. The
        lines' state moves in the same transaction as the matches."""
        try:
            with self.env.cr.savepoint():
                self._match_customers(lines)
            return len(lines)
        except Exception as exc:  # noqa: BLE001 - done again line by line
            if is_concurrency_error(exc):
                raise
            _logger.info(
                "Payment matching run %s: chunk refused, customer by customer: %s",
                self.id,
                exc,
            )
        return self._process_each_line(
            lines, self._match_customers, "Payment matching run"
        )

    def _match_customers(self, lines):
        """Match what needs no judgement (AUTOMATIC_RULES) for the customers
        of ``lines``, and record on each line what was matched and what
        Odoo refused, with its reason."""
        self.ensure_one()
        company = self.company_id
        wizard = self.env["sale.reconciliation.match"].create(
            {
                "company_id": company.id,
                "rules": ",".join(AUTOMATIC_RULES),
                "partner_ids": [fields.Command.set(lines.partner_id.ids)],
            }
        )
        proposals = wizard._compute_proposals(list(AUTOMATIC_RULES))
        matched, refused = (
            self.env["sale.reconciliation.match.line"]
            .create([dict(vals, wizard_id=wizard.id) for vals in proposals])
            ._reconcile()
        )
        for line in refused:
            _logger.warning(
                "Payment matching in %s: %s not matched, refused: %s",
                company.name,
                line._describe(),
                line.refusal,
            )
        matched_by_customer = matched.grouped("partner_id")
        refused_by_customer = refused.grouped("partner_id")
        for line in lines:
            customer_refused = refused_by_customer.get(line.partner_id, refused[:0])
            line._write_line(
                {
                    "state": "done",
                    "matched_count": len(
                        matched_by_customer.get(line.partner_id, matched[:0])
                    ),
                    "refused_count": len(customer_refused),
                    "reason": "\n".join(
                        f"{proposal._describe()}: {proposal.refusal}"
                        for proposal in customer_refused
                    )
                    or False,
                }
            )
        _logger.info(
            "Payment matching in %s: %s payments and credit notes matched for "
            "%s customers",
            company.name,
            len(matched),
            len(lines),
        )


class SaleReconciliationMatchRunLine(models.Model):
    _name = "sale.reconciliation.match.run.line"
    _description = "Customer of a Scheduled Payment Matching"
    _inherit = ["sale.reconciliation.run.line.mixin"]

    run_id = fields.Many2one("sale.reconciliation.match.run")
    partner_id = fields.Many2one(ondelete="cascade")
    state = fields.Selection(
        selection=[
            ("todo", "To Do"),
            ("done", "Done"),
            ("failed", "Failed"),
        ]
    )
    matched_count = fields.Integer(
        string="Matched",
        readonly=True,
        help="Payments and credit notes of the customer matched with invoices.",
    )
    refused_count = fields.Integer(
        string="Refused",
        readonly=True,
        help="Matches Odoo refused: the reason says which and why.",
    )
