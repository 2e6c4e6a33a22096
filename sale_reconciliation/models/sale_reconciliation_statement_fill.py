"""Customer statements: their lines and totals, read from the ledger."""

import logging

from odoo import _, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from .sale_reconciliation_statement_ledger import (
    DROP_OPEN_ITEMS,
    INSERT_DETAIL_LINES,
    INSERT_ENTRY_LINES,
    LEDGER_TOTALS,
    OPEN_ITEMS_STEPS,
    UPDATE_TOTALS,
    ledger_sql,
)

_logger = logging.getLogger(__name__)


class SaleReconciliationStatement(models.Model):
    _inherit = "sale.reconciliation.statement"

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

    def _read_ledger_totals(self):
        """{statement id: opening, debit, credit, entries, items} as the ledger
        has them now."""
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
        execute(
            SQL(
                "DELETE FROM sale_reconciliation_statement_line "
                "WHERE statement_id = ANY(%s)",
                self.ids,
            )
        )
        execute(ledger_sql(INSERT_ENTRY_LINES, **params))
        execute(ledger_sql(INSERT_DETAIL_LINES, **params))
        items = dict(execute(ledger_sql(UPDATE_TOTALS, **params)))
        execute(SQL(DROP_OPEN_ITEMS))
        # The rows were written behind the ORM's back: forget what it cached.
        self.env["sale.reconciliation.statement.line"].invalidate_model()
        self.invalidate_recordset()
        self.env.add_to_compute(self._fields["entry_count"], self)
        return items
