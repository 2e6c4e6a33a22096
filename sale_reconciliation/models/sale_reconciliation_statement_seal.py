"""Customer statements: the seal of what the customer accepted."""

import hashlib
import json

from odoo import _, api, models
from odoo.tools import float_repr


# One file per concern of the statement, as Odoo splits its large models.
class SaleReconciliationStatement(models.Model):
    _inherit = "sale.reconciliation.statement"  # pylint: disable=consider-merging-classes-inherited

    # -------------------------------------------------------------------------
    # ACTIONS
    # -------------------------------------------------------------------------

    def action_verify_hash(self):
        """Check the chain of seals of these statements' companies, up to
        them, and name the first statement whose seal breaks."""
        self._check_state({"accepted"}, _("verify what the customer accepted"))
        broken = self.env["sale.reconciliation.statement"]
        for company, statements in self.grouped("company_id").items():
            last = max(statements.mapped("seal_number"))
            broken |= self._find_broken_seal(company, last)
        if broken:
            message = _(
                "The chain of seals breaks at %(names)s: its content, its "
                "acceptance or its place in the chain changed after the customer "
                "accepted it. Every statement sealed after it is in doubt too.",
                names=", ".join(broken.mapped("name")),
            )
            for statement in broken & self:
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
            "aging": [
                [row.day_from, row.day_to, money(row.amount)]
                for row in self.aging_ids.sorted(lambda row: (row.sequence, row.id))
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

    def _get_seal_payload(self, previous_hash):
        """What the seal covers: the content, the acceptance evidence (who,
        when, through which channel, who recorded it, the signature), the
        place in the chain and the seal before it."""
        self.ensure_one()
        signature = self.signature or b""
        if isinstance(signature, str):
            signature = signature.encode()
        return json.dumps(
            {
                "content": self._get_hash_payload(),
                "accepted_by": self.accepted_by or "",
                "accepted_date": str(self.accepted_date or ""),
                "channel": self.answer_channel or "",
                "recorded_by": self.answer_recorded_by_id.id or 0,
                "signature": hashlib.sha256(signature).hexdigest(),
                "seal_number": self.seal_number,
                "previous": previous_hash or "",
            },
            sort_keys=True,
            separators=(",", ":"),
        )

    def _compute_seal(self, previous_hash):
        self.ensure_one()
        return hashlib.sha256(
            self._get_seal_payload(previous_hash).encode()
        ).hexdigest()

    def _seal(self):
        """Seal this statement, just accepted, after the last sealed
        statement of its company. The company's seal sequence is gapless:
        taking a number locks it until the transaction ends, so two
        acceptances at once are sealed one after the other."""
        self.ensure_one()
        number = int(self._get_seal_sequence(self.company_id).next_by_id())
        previous = self._get_sealed_statement(self.company_id, number - 1)
        self._write_workflow({"seal_number": number})
        self._write_workflow(
            {
                "state": "accepted",
                "content_hash": self._compute_seal(previous.content_hash),
            }
        )

    @api.model
    def _get_sealed_statement(self, company, seal_number):
        """The statement of ``company`` sealed with ``seal_number`` (none
        before the first)."""
        if seal_number < 1:
            return self.browse()
        # sudo: the seal before may belong to a customer the user cannot
        # see; only its hash is read.
        return self.sudo().search(
            [("company_id", "=", company.id), ("seal_number", "=", seal_number)],
            limit=1,
        )

    @api.model
    def _find_broken_seal(self, company, up_to=None):
        """The first accepted statement of ``company`` (up to seal number
        ``up_to``) whose seal no longer matches, or an empty recordset."""
        domain = [("company_id", "=", company.id), ("state", "=", "accepted")]
        # sudo: the chain runs through every customer of the company.
        statements = (
            self.sudo()
            .search(domain)
            .sorted(lambda s: (not s.seal_number, s.seal_number, s.id))
        )
        previous_hash = ""
        for expected, statement in enumerate(statements, start=1):
            if up_to and statement.seal_number and statement.seal_number > up_to:
                break
            if (
                statement.seal_number != expected
                or statement.content_hash != statement._compute_seal(previous_hash)
            ):
                return statement.with_env(self.env)
            previous_hash = statement.content_hash
        return self.browse()

    def _is_content_hash_valid(self):
        """This statement's seal matches its content and the seal before it."""
        self.ensure_one()
        if not (self.content_hash and self.seal_number):
            return False
        previous = self._get_sealed_statement(self.company_id, self.seal_number - 1)
        if self.seal_number > 1 and not previous:
            return False
        return self.content_hash == self._compute_seal(previous.content_hash)
