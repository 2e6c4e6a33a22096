"""Credit refresh runs: the nightly refresh of every customer's credit
figures, a run per company with a line per customer, computed a chunk of
customers per transaction, each customer's state kept on its line so that a
run interrupted at any point resumes without computing anyone twice (on the
run engine, sale_reconciliation_run_mixin.py)."""

import logging
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.tools import SQL

from .sale_reconciliation_credit_profile import RATING_WINDOW_DAYS
from .sale_reconciliation_run_mixin import is_concurrency_error

_logger = logging.getLogger(__name__)

CHUNK_SIZE_PARAM = "sale_reconciliation.credit_refresh_run_chunk_size"
# A chunk's figures are a few aggregate queries over its customers, their
# open orders and a write per profile: 200 customers with an open invoice
# and two orders to invoice each took 0.2 s on a two-core machine, far
# under the engine's 30 s a chunk, with room for much busier customers.
DEFAULT_CHUNK_SIZE = 200
PROCESS_CRON_XMLID = "sale_reconciliation.ir_cron_refresh_credit_profiles"


class SaleReconciliationCreditRefreshRun(models.Model):
    _name = "sale.reconciliation.credit.refresh.run"
    _description = "Credit Refresh Run"
    _inherit = ["sale.reconciliation.daily.run.mixin"]

    _run_line_model = "sale.reconciliation.credit.refresh.run.line"
    _run_process_cron = PROCESS_CRON_XMLID
    _run_chunk_size_param = CHUNK_SIZE_PARAM
    _run_default_chunk_size = DEFAULT_CHUNK_SIZE
    _run_count_fields = {
        "done_count": "done",
        "failed_count": "failed",
        "todo_count": "todo",
    }

    line_ids = fields.One2many("sale.reconciliation.credit.refresh.run.line")
    done_count = fields.Integer(string="Refreshed", compute="_compute_counts")

    _sql_constraints = [
        (
            "company_date_uniq",
            "UNIQUE(company_id, date)",
            "A company has one full credit refresh a day.",
        ),
    ]

    # -------------------------------------------------------------------------
    # SCHEDULED ACTION
    # -------------------------------------------------------------------------

    @api.model
    def _start(self, company, today):
        """Today's run of ``company``: one line per customer with credit
        figures to compute (none when the company has a run of today, or one
        still running: the running one goes on)."""
        if self.search_count(
            [
                ("company_id", "=", company.id),
                "|",
                ("date", "=", today),
                ("state", "=", "running"),
            ]
        ):
            return self
        partner_ids = self._get_scope_partner_ids(company, today)
        if not partner_ids:
            return self
        return self._create_run(
            company, today, [{"partner_id": partner_id} for partner_id in partner_ids]
        )

    @api.model
    def _get_scope_partner_ids(self, company, today):
        """The customers (commercial partners) whose figures a full refresh
        of ``company`` computes: those with an open receivable, a confirmed
        order, a draft invoice, a payment in the rating window, a hold or a
        rating override, or a profile already. A few more than the figures
        keep is harmless: a customer with nothing gets no profile."""
        Profile = self.env["sale.reconciliation.credit.profile"]
        Profile._flush_credit_sources()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT partner.commercial_partner_id
                  FROM account_move_line line
                  JOIN account_account account ON account.id = line.account_id
                  JOIN res_partner partner ON partner.id = line.partner_id
                 WHERE account.account_type = 'asset_receivable'
                   AND line.company_id = %(company)s
                   AND line.parent_state = 'posted'
                   AND line.reconciled IS NOT TRUE
                 UNION
                SELECT partner.commercial_partner_id
                  FROM account_partial_reconcile partial
                  JOIN account_move_line line ON line.id = partial.debit_move_id
                  JOIN res_partner partner ON partner.id = line.partner_id
                 WHERE partial.company_id = %(company)s
                   AND partial.max_date > %(since)s
                 UNION
                SELECT partner.commercial_partner_id
                  FROM sale_order sale
                  JOIN res_partner partner ON partner.id = sale.partner_id
                 WHERE sale.company_id = %(company)s
                   AND sale.state = 'sale'
                 UNION
                SELECT move.commercial_partner_id
                  FROM account_move move
                 WHERE move.company_id = %(company)s
                   AND move.state = 'draft'
                   AND move.move_type IN ('out_invoice', 'out_refund')
                   AND move.commercial_partner_id IS NOT NULL
                """,
                company=company.id,
                since=today - timedelta(days=RATING_WINDOW_DAYS),
            )
        )
        ids = {row[0] for row in rows}
        ids.update(
            Profile.with_company(company)._query_partners_with_credit_terms(company)
        )
        return sorted(ids)

    # -------------------------------------------------------------------------
    # PROCESSING (the run engine's hooks)
    # -------------------------------------------------------------------------

    def _get_run_title(self, company_name, date):
        return _(
            "Credit refresh of %(company)s on %(date)s",
            company=company_name,
            date=date,
        )

    # The run always works as OdooBot (the engine's fallback, as follow-up
    # runs do): a customer's figures add up every document of the company,
    # whoever may read them, and nobody starts the run but the scheduled
    # action.

    def _process_lines(self, lines):
        """Compute the figures of these customers in one batch; a batch
        that raises is done again customer by customer, so that the customer
        that raises fails, with its reason, and the others are computed. The
        lines' state moves in the same transaction as the figures."""
        Profile = self.env["sale.reconciliation.credit.profile"]
        company = self.company_id
        try:
            with self.env.cr.savepoint():
                Profile._refresh(company, lines.partner_id.ids)
                lines._write_line({"state": "done", "reason": False})
            return len(lines)
        except Exception as exc:  # noqa: BLE001 - done again line by line
            if is_concurrency_error(exc):
                raise
            _logger.info(
                "Credit refresh run %s: batch refused, customer by customer: %s",
                self.id,
                exc,
            )

        def refresh(line):
            Profile._refresh(company, line.partner_id.ids)
            line._write_line({"state": "done", "reason": False})

        return self._process_each_line(lines, refresh, "Credit refresh run")


class SaleReconciliationCreditRefreshRunLine(models.Model):
    _name = "sale.reconciliation.credit.refresh.run.line"
    _description = "Customer of a Credit Refresh Run"
    _inherit = ["sale.reconciliation.run.line.mixin"]

    run_id = fields.Many2one("sale.reconciliation.credit.refresh.run")
    partner_id = fields.Many2one(ondelete="cascade")
    state = fields.Selection(
        selection=[
            ("todo", "To Do"),
            ("done", "Refreshed"),
            ("failed", "Failed"),
        ]
    )
