"""Customer statements: what is open at their end, per aging bucket.

The buckets are the company's aging buckets (``aging_bucket_limits``,
``aging_basis``) when the statement is read from the ledger, labelled as the
Aged Receivables report labels them: a statement in the company currency ages
its items as that report does for the same customer and date. They are
written with the statement's lines (``_fill_from_ledger``) and frozen with
them: a later change of the company's buckets leaves a confirmed statement as
it was sent.
"""

from odoo import _, api, fields, models
from odoo.exceptions import UserError


# One file per concern of the statement, as Odoo splits its large models.
class SaleReconciliationStatement(models.Model):
    _inherit = "sale.reconciliation.statement"  # pylint: disable=consider-merging-classes-inherited

    aging_ids = fields.One2many(
        "sale.reconciliation.statement.aging",
        "statement_id",
        readonly=True,
        copy=False,
        help="What is open at the end of the period, by age, in the company's "
        "aging buckets of when the statement was prepared.",
    )


class SaleReconciliationStatementAging(models.Model):
    _name = "sale.reconciliation.statement.aging"
    _description = "Customer Statement Aging Bucket"
    _order = "statement_id, sequence, id"
    _check_company_auto = True

    statement_id = fields.Many2one(
        "sale.reconciliation.statement",
        required=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(
        related="statement_id.company_id", store=True, index=True
    )
    currency_id = fields.Many2one(related="statement_id.currency_id")
    sequence = fields.Integer()
    name = fields.Char(string="Age", required=True, translate=True)
    day_from = fields.Integer(help="First day of the bucket.")
    day_to = fields.Integer(help="Last day of the bucket; 0 for the oldest.")
    amount = fields.Monetary(
        string="Open Amount",
        help="What is open at the end of the period in this bucket.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        # The ledger fill writes the rows in SQL; nothing else makes them.
        self.check_access("create")
        self._check_workflow()
        return super().create(vals_list)

    def write(self, vals):
        self.check_access("write")
        self._check_workflow()
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_frozen(self):
        self._check_workflow()

    def _check_workflow(self):
        if not self.env["sale.reconciliation.statement"]._is_workflow_write():
            raise UserError(
                _(
                    "A statement's aging is read from the ledger: it cannot be "
                    "changed by hand."
                )
            )
