"""Customer statements: their lines and totals, read from the ledger."""

import json
import logging

from odoo import _, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from .sale_reconciliation_statement_ledger import (
    DROP_OPEN_ITEMS,
    INSERT_AGING,
    INSERT_DETAIL_LINES,
    INSERT_ENTRY_LINES,
    LEDGER_TOTALS,
    OPEN_ITEMS_STEPS,
    UPDATE_TOTALS,
    ledger_sql,
)

_logger = logging.getLogger(__name__)


# One file per concern of the statement, as Odoo splits its large models.
class SaleReconciliationStatement(models.Model):
    _inherit = "sale.reconciliation.statement"  # pylint: disable=consider-merging-classes-inherited

    # -------------------------------------------------------------------------
    # LEDGER
    # -------------------------------------------------------------------------

    def _check_has_ledger_entries(self, items):
        """A statement must have something to say: refuse a customer and
        currency without any receivable entry up to the period's end."""
        for statement in self:
            if not items.get(statement.id):
                raise ValidationError(
                    _(
                        "%(customer)s has no posted receivable entries in "
                        "%(currency)s in %(company)s up to %(date_to)s: there is "
                        "nothing to put on a statement.",
                        customer=statement.partner_id.display_name,
                        currency=statement.currency_id.name,
                        company=statement.company_id.name,
                        date_to=statement.date_to,
                    )
                )

    def _flush_ledger(self):
        self.env["account.move.line"].flush_model()
        self.env["account.move"].flush_model()
        self.env["account.partial.reconcile"].flush_model()
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        self.env["sale.order.line"].flush_model(["qty_delivered", "order_id"])
        self.env["sale.reconciliation.statement"].flush_model()
        self.env["sale.reconciliation.statement.line"].flush_model()
        self.env["sale.reconciliation.statement.aging"].flush_model()

    def _read_ledger_totals(self):
        """{statement id: opening, debit, credit, entries, items, overdue} as
        the ledger has them now (entries: its journal items and settlements in
        another currency in the period)."""
        if not self.ids:
            return {}
        self._flush_ledger()
        rows = self.env.execute_query_dict(
            ledger_sql(LEDGER_TOTALS, statement_ids=self.ids)
        )
        return {row["statement_id"]: row for row in rows}

    def _fill_from_ledger(self):
        """(Re)write the lines and totals of these draft statements from the
        ledger, in a few queries for all of them.

        :return: {statement id: number of receivable items up to its end}
        """
        if not self:
            return {}
        self._flush_ledger()
        params = {"statement_ids": self.ids, "uid": self.env.uid}
        execute = self.env.execute_query
        execute(SQL(DROP_OPEN_ITEMS))
        for step in OPEN_ITEMS_STEPS:
            execute(ledger_sql(step, **params))
        for table in (
            "sale_reconciliation_statement_line",
            "sale_reconciliation_statement_aging",
        ):
            execute(
                SQL(
                    "DELETE FROM %s WHERE statement_id = ANY(%s)",
                    SQL.identifier(table),
                    self.ids,
                )
            )
        execute(ledger_sql(INSERT_ENTRY_LINES, **params))
        execute(ledger_sql(INSERT_DETAIL_LINES, **params))
        execute(ledger_sql(INSERT_AGING, **params, **self._get_aging_policies()))
        items = dict(execute(ledger_sql(UPDATE_TOTALS, **params)))
        execute(SQL(DROP_OPEN_ITEMS))
        # The rows were written behind the ORM's back: forget what it cached.
        self.env["sale.reconciliation.statement.line"].invalidate_model()
        self.env["sale.reconciliation.statement.aging"].invalidate_model()
        self.invalidate_recordset()
        self.env.add_to_compute(self._fields["entry_count"], self)
        return items

    def _get_aging_policies(self):
        """The aging buckets of the statements' companies as they are now, for
        ``INSERT_AGING``: the Aged Receivables report's buckets (bounds, basis,
        labels in every installed language), frozen with the statements.

        :return: {"policies": json, "buckets": json}
        """
        Aging = self.env["sale.reconciliation.aging"]
        langs = {code for code, _name in self.env["res.lang"].get_installed()}
        langs.add("en_US")
        policies, buckets = [], []
        for company in self.company_id:
            limits = company._get_aging_limits()
            basis = company.aging_basis
            policies.append(
                {
                    "company_id": company.id,
                    "basis": basis,
                    "thresholds": Aging._get_bucket_thresholds(limits, basis),
                }
            )
            labels = {
                lang: Aging.with_context(lang=lang)._get_bucket_values(limits, basis)
                for lang in sorted(langs)
            }
            for bucket in labels["en_US"]:
                buckets.append(
                    {
                        "company_id": company.id,
                        "sequence": bucket["sequence"],
                        "name": {
                            lang: values[bucket["sequence"]]["name"]
                            for lang, values in labels.items()
                        },
                        "day_from": bucket["day_from"],
                        "day_to": bucket["day_to"],
                    }
                )
        return {"policies": json.dumps(policies), "buckets": json.dumps(buckets)}
