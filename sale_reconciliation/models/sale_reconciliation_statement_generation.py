"""Customer statements: generated in batches, by hand or every month."""

import logging

import psycopg2
from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from .sale_reconciliation_statement_ledger import (
    STATEMENT_CANDIDATES,
    ledger_sql,
)

_logger = logging.getLogger(__name__)


# One file per concern of the statement, as Odoo splits its large models.
class SaleReconciliationStatement(models.Model):
    _inherit = "sale.reconciliation.statement"  # pylint: disable=consider-merging-classes-inherited

    # -------------------------------------------------------------------------
    # GENERATION
    # -------------------------------------------------------------------------

    @api.model
    def _default_period(self, today=None):
        """Last month."""
        today = today or fields.Date.context_today(self)
        first = today.replace(day=1) - relativedelta(months=1)
        return first, today.replace(day=1) - relativedelta(days=1)

    @api.model
    def _generate_statements(
        self,
        date_from,
        date_to,
        statement_type=None,
        partners=None,
        company=None,
        company_currency_only=False,
        run=None,
    ):
        """Create in one batch the statements of the customers that had
        receivable entries in the period or have an open balance at its end,
        one per currency (or only in the company currency).

        :param partners: restrict to these customers (their commercial
            partners); ``None`` for every customer
        :param run: the statement run making them, linked to each
        :return: (created statements, [(partner, currency, reason)] skipped)
        """
        company = company or self.env.company
        statement_type = statement_type or company.statement_default_type
        Partner = self.env["res.partner"]
        Currency = self.env["res.currency"]
        wanted = partners.commercial_partner_id if partners is not None else None
        self._flush_ledger()
        rows = self.env.execute_query_dict(
            ledger_sql(
                STATEMENT_CANDIDATES,
                company_id=company.id,
                date_from=date_from,
                date_to=date_to,
                partner_ids=wanted.ids if wanted is not None else None,
            )
        )
        skipped = []
        candidates = []
        for row in rows:
            partner = Partner.browse(row["partner_id"])
            currency = Currency.browse(row["currency_id"])
            if company_currency_only and currency != company.currency_id:
                skipped.append(
                    (partner, currency, _("entries in a currency not asked for"))
                )
            elif not row["has_activity"] and currency.is_zero(row["balance"]):
                skipped.append(
                    (partner, currency, _("no entries in the period, nothing open"))
                )
            else:
                candidates.append((partner, currency))
        if wanted is not None:
            with_entries = {partner for partner, _currency in candidates} | {
                partner for partner, _currency, _reason in skipped
            }
            for partner in wanted - Partner.union(*with_entries):
                skipped.append(
                    (partner, company.currency_id, _("no receivable entries at all"))
                )
        existing = self._find_overlapping(company, date_from, date_to, candidates)
        vals_list = []
        for partner, currency in candidates:
            other = existing.get((partner.id, currency.id))
            if other:
                skipped.append(
                    (
                        partner,
                        currency,
                        _("already has statement %(name)s", name=other.name),
                    )
                )
                continue
            vals_list.append(
                {
                    "partner_id": partner.id,
                    "company_id": company.id,
                    "currency_id": currency.id,
                    "date_from": date_from,
                    "date_to": date_to,
                    "statement_type": statement_type,
                }
            )
        Statement = self.with_context(
            tracking_disable=True, mail_create_nosubscribe=True
        )
        if run:
            for vals in vals_list:
                vals["run_id"] = run.id
            statements = Statement._create_workflow(vals_list)
        else:
            statements = Statement.create(vals_list)
        _logger.info(
            "Generated %s customer statements of %s for %s to %s (%s skipped)",
            len(statements),
            company.name,
            date_from,
            date_to,
            len(skipped),
        )
        return statements.with_env(self.env), skipped

    @api.model
    def _find_statement_customers(self, company, date_from, date_to):
        """The customers with receivable entries in the period or an open
        balance at its end, in any currency."""
        self._flush_ledger()
        rows = self.env.execute_query_dict(
            ledger_sql(
                STATEMENT_CANDIDATES,
                company_id=company.id,
                date_from=date_from,
                date_to=date_to,
                partner_ids=None,
            )
        )
        Currency = self.env["res.currency"]
        return self.env["res.partner"].browse(
            sorted(
                {
                    row["partner_id"]
                    for row in rows
                    if row["has_activity"]
                    or not Currency.browse(row["currency_id"]).is_zero(row["balance"])
                }
            )
        )

    @api.model
    def _find_overlapping(self, company, date_from, date_to, candidates):
        """{(partner id, currency id): statement} of the non-cancelled
        statements of these customers overlapping the period."""
        if not candidates:
            return {}
        statements = self.search(
            [
                ("company_id", "=", company.id),
                ("partner_id", "in", list({p.id for p, _c in candidates})),
                ("state", "!=", "cancel"),
                ("date_from", "<=", date_to),
                ("date_to", ">=", date_from),
            ]
        )
        return {(s.partner_id.id, s.currency_id.id): s for s in statements}

    @api.model
    def _cron_generate_statements(self):
        """Start a statement run of last month for each company whose
        statement day is today, to confirm and send the statements where
        asked. A month already closed or already run is skipped, and a
        company that fails is logged without stopping the others."""
        today = fields.Date.context_today(self)
        companies = self.env["res.company"].search(
            [
                ("statement_auto_generate", "=", True),
                ("statement_generation_day", "=", today.day),
            ]
        )
        date_from, date_to = self._default_period(today)
        Period = self.env["sale.reconciliation.period"]
        for company in companies:
            period = Period._find_closed_periods(company, date_from, date_to)(
                company, date_from, date_to
            )
            if period:
                _logger.info(
                    "Monthly statements of %s for %s to %s not generated: the "
                    "sales period %s is closed.",
                    company.name,
                    date_from,
                    date_to,
                    period.name,
                )
                continue
            if self.env["sale.reconciliation.statement.run"].search_count(
                [
                    ("company_id", "=", company.id),
                    ("date_from", "=", date_from),
                    ("date_to", "=", date_to),
                    ("use_statement_frequency", "=", True),
                    ("state", "!=", "draft"),
                ],
                limit=1,
            ):
                continue
            try:
                with self.env.cr.savepoint():
                    self._start_monthly_run(company, date_from, date_to)
            except (UserError, ValidationError, psycopg2.Error):
                _logger.exception(
                    "Monthly statements of %s for %s to %s not started",
                    company.name,
                    date_from,
                    date_to,
                )

    @api.model
    def _start_monthly_run(self, company, date_from, date_to):
        """A statement run of the month for the company, started: the
        statement run's scheduled action makes, confirms and sends the
        statements chunk by chunk."""
        send = company.statement_auto_send and not company.statement_review_required
        run = (
            self.env["sale.reconciliation.statement.run"]
            .with_company(company)
            .create(
                {
                    "company_id": company.id,
                    "date_from": date_from,
                    "date_to": date_to,
                    "customer_scope": "all",
                    "statement_type": company.statement_default_type,
                    "operation": "send" if send else "generate",
                    "use_statement_frequency": True,
                }
            )
        )
        run.action_start()
        return run
