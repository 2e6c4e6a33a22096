"""Customer statements: the seal of what the customer accepted."""

import hashlib
import json

from odoo import _, models
from odoo.tools import float_repr


class SaleReconciliationStatement(models.Model):
    _inherit = "sale.reconciliation.statement"

    # -------------------------------------------------------------------------
    # ACTIONS
    # -------------------------------------------------------------------------

    def action_verify_hash(self):
        """Tell whether the accepted content is intact."""
        self._check_state({"accepted"}, _("verify what the customer accepted"))
        broken = self.filtered(lambda s: not s._is_content_hash_valid())
        if broken:
            message = _(
                "Changed since the customer accepted it: %(names)s.",
                names=", ".join(broken.mapped("name")),
            )
            for statement in broken:
                statement.message_post(
                    body=_(
                        "Integrity check failed: the content no longer "
                        "matches what the customer accepted."
                    )
                )
        else:
            message = _("Intact: the content is what the customer accepted.")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Statement Integrity"),
                "message": message,
                "type": "danger" if broken else "success",
                "sticky": bool(broken),
            },
        }

    # -------------------------------------------------------------------------
    # SEALING
    # -------------------------------------------------------------------------

    def _get_hash_payload(self):
        """The accepted content, in a canonical text form."""
        self.ensure_one()
        digits = self.currency_id.decimal_places

        def money(value):
            return float_repr(self.currency_id.round(value), digits)

        payload = {
            "name": self.name,
            "partner": self.partner_id.id,
            "company": self.company_id.id,
            "currency": self.currency_id.name,
            "period": [str(self.date_from), str(self.date_to)],
            "totals": [
                money(self.opening_balance),
                money(self.total_debit),
                money(self.total_credit),
                money(self.closing_balance),
            ],
            "lines": [
                [
                    line.display_type,
                    str(line.date or ""),
                    line.name or "",
                    line.reference or "",
                    money(line.debit),
                    money(line.credit),
                    money(line.balance),
                    money(line.amount_residual),
                    line.product_id.id or 0,
                    float_repr(line.quantity or 0.0, 6),
                    money(line.price_subtotal),
                ]
                for line in self.line_ids.sorted(lambda line: (line.sequence, line.id))
            ],
        }
        return json.dumps(payload, sort_keys=True, separators=(",", ":"))

    def _compute_content_hash(self):
        self.ensure_one()
        return hashlib.sha256(self._get_hash_payload().encode()).hexdigest()

    def _is_content_hash_valid(self):
        self.ensure_one()
        return bool(self.content_hash) and (
            self.content_hash == self._compute_content_hash()
        )
