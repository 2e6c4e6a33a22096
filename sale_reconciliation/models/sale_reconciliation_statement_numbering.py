"""Customer statements: numbers from each company's sequence."""

from odoo import _, api, models
from odoo.tools import SQL

SEQUENCE_CODE = "sale.reconciliation.statement"
SEAL_SEQUENCE_CODE = "sale.reconciliation.statement.seal"


# One file per concern of the statement, as Odoo splits its large models.
class SaleReconciliationStatement(models.Model):
    _inherit = "sale.reconciliation.statement"  # pylint: disable=consider-merging-classes-inherited

    # -------------------------------------------------------------------------
    # NUMBERING
    # -------------------------------------------------------------------------

    @api.model
    def _assign_statement_numbers(self, vals_list):
        """Number the new statements from their company's sequence."""
        to_number = {}
        for vals in vals_list:
            if not vals.get("name") or vals["name"] == "/":
                company_id = vals.get("company_id") or self.env.company.id
                to_number.setdefault(company_id, []).append(vals)
        for company_id, company_vals in to_number.items():
            sequence = self._get_statement_sequence(
                self.env["res.company"].browse(company_id)
            )
            for vals, number in zip(
                company_vals,
                self._reserve_sequence_numbers(sequence, len(company_vals)),
                strict=True,
            ):
                vals["name"] = number

    @api.model
    def _get_statement_sequence(self, company):
        # sudo: ir.sequence - numbering is technical; each company gets its own
        # sequence the first time it makes a statement.
        sequence_model = self.env["ir.sequence"].sudo()
        sequence = sequence_model.search(
            [("code", "=", SEQUENCE_CODE), ("company_id", "=", company.id)], limit=1
        )
        return sequence or sequence_model.create(
            self._prepare_statement_sequence_vals(company)
        )

    @api.model
    def _reserve_sequence_numbers(self, sequence, count):
        """``count`` numbers of ``sequence``: one query for a standard
        sequence, whatever the count."""
        if sequence.implementation != "standard" or sequence.use_date_range:
            return [sequence.next_by_id() for _i in range(count)]
        rows = self.env.execute_query(
            SQL(
                "SELECT nextval(%s) FROM generate_series(1, %s)",
                f"ir_sequence_{sequence.id:03d}",
                count,
            )
        )
        return [sequence.get_next_char(row[0]) for row in rows]

    @api.model
    def _get_seal_sequence(self, company):
        """The gapless sequence that numbers the accepted statements of
        ``company`` in their chain of seals."""
        # sudo: ir.sequence - numbering is technical.
        sequence_model = self.env["ir.sequence"].sudo()
        sequence = sequence_model.search(
            [("code", "=", SEAL_SEQUENCE_CODE), ("company_id", "=", company.id)],
            limit=1,
        )
        return sequence or sequence_model.create(
            self._prepare_seal_sequence_vals(company)
        )

    @api.model
    def _prepare_statement_sequence_vals(self, company):
        return {
            "name": _("Customer Statements (%(company)s)", company=company.name),
            "code": SEQUENCE_CODE,
            "company_id": company.id,
            "prefix": "ST/%(year)s/",
            "padding": 5,
        }

    @api.model
    def _prepare_seal_sequence_vals(self, company):
        return {
            "name": _("Customer Statement Seals (%(company)s)", company=company.name),
            "code": SEAL_SEQUENCE_CODE,
            "company_id": company.id,
            "implementation": "no_gap",
            "padding": 0,
        }

    @api.model
    def _create_statement_sequences(self, companies=None):
        """Give each company its statement and seal sequences before its
        first statement, so that no two transactions create them at once."""
        companies = companies or self.env["res.company"].search([])
        for company in companies:
            self._get_statement_sequence(company)
            self._get_seal_sequence(company)
        return True
