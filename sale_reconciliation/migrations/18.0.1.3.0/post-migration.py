"""18.0.1.3.0: statements of a salesperson's own customers only, seals
chained per company, and closed periods that know the lock date they set.

The record rules are ``noupdate``: their new domains are written here. The
statements accepted before this version were sealed one by one; they are
chained now, in the order they were accepted, each after checking its old
seal (a statement whose old seal no longer matched is left unsealed and
logged, so that *Verify Integrity* reports it).
"""

import hashlib
import json
import logging

from odoo import SUPERUSER_ID, api
from odoo.tools import float_repr

_logger = logging.getLogger(__name__)

RULE_DOMAINS = {
    "sale_reconciliation.sale_reconciliation_statement_rule_user": (
        "[('partner_id.user_id', '=', user.id)]"
    ),
    "sale_reconciliation.sale_reconciliation_statement_line_rule_user": (
        "[('statement_id.partner_id.user_id', '=', user.id)]"
    ),
}


def _legacy_hash(statement):
    """The seal of 18.0.1.2.0: the content alone."""
    digits = statement.currency_id.decimal_places

    def money(value):
        return float_repr(statement.currency_id.round(value), digits)

    payload = {
        "name": statement.name,
        "partner": statement.partner_id.id,
        "company": statement.company_id.id,
        "currency": statement.currency_id.name,
        "period": [str(statement.date_from), str(statement.date_to)],
        "totals": [
            money(statement.opening_balance),
            money(statement.total_debit),
            money(statement.total_credit),
            money(statement.closing_balance),
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
            for line in statement.line_ids.sorted(lambda line: (line.sequence, line.id))
        ],
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    for xmlid, domain in RULE_DOMAINS.items():
        rule = env.ref(xmlid, raise_if_not_found=False)
        if rule:
            rule.domain_force = domain
    # Periods closed before this version moved the sales lock date to their
    # end, and their reopening moved it back to the previous closed period.
    # The last closed period of a company set the lock date only if it is
    # still its end: otherwise accounting moved it, and reopening leaves it.
    cr.execute(
        """
        UPDATE sale_reconciliation_period p
           SET sale_lock_date_set = p.date_to,
               sale_lock_date_before = (
                   SELECT MAX(previous.date_to)
                     FROM sale_reconciliation_period previous
                    WHERE previous.company_id = p.company_id
                      AND previous.state = 'closed'
                      AND previous.date_to < p.date_from)
          FROM res_company company
         WHERE company.id = p.company_id
           AND p.state = 'closed'
           AND p.sale_lock_date_set IS NULL
           AND (company.sale_lock_date = p.date_to
                OR EXISTS (
                    SELECT 1 FROM sale_reconciliation_period later
                     WHERE later.company_id = p.company_id
                       AND later.state = 'closed'
                       AND later.date_from > p.date_to))
        """
    )
    # Signatures move from attachments into the statement's row, where only
    # the statement's write() reaches them.
    for attachment in env["ir.attachment"].search(
        [
            ("res_model", "=", "sale.reconciliation.statement"),
            ("res_field", "=", "signature"),
        ]
    ):
        cr.execute(
            "UPDATE sale_reconciliation_statement SET signature = %s WHERE id = %s",
            [attachment.datas, attachment.res_id],
        )
        attachment.unlink()
    # The five fixed aging columns of 18.0.1.2.0 become the statements'
    # aging rows, as they were sent (a confirmed statement is never read
    # again). The old columns are left for Odoo to drop with the module.
    cr.execute(
        """
        SELECT column_name FROM information_schema.columns
         WHERE table_name = 'sale_reconciliation_statement'
           AND column_name = 'aging_over_90'
        """
    )
    if cr.rowcount:
        cr.execute(
            """
            INSERT INTO sale_reconciliation_statement_aging (
                statement_id, company_id, sequence, name, day_from, day_to,
                amount, create_uid, create_date, write_uid, write_date)
            SELECT s.id, s.company_id, b.sequence, jsonb_build_object('en_US', b.name),
                   b.day_from, b.day_to,
                   CASE b.sequence WHEN 1 THEN s.aging_current
                                   WHEN 2 THEN s.aging_1_30
                                   WHEN 3 THEN s.aging_31_60
                                   WHEN 4 THEN s.aging_61_90
                                   ELSE s.aging_over_90 END,
                   %s, NOW() AT TIME ZONE 'UTC', %s, NOW() AT TIME ZONE 'UTC'
              FROM sale_reconciliation_statement s
             CROSS JOIN (VALUES (1, 'Not Due', 0, 0), (2, '1-30 Days', 1, 30),
                                (3, '31-60 Days', 31, 60), (4, '61-90 Days', 61, 90),
                                (5, 'Over 90 Days', 91, 0))
                   AS b(sequence, name, day_from, day_to)
             WHERE NOT EXISTS (
                   SELECT 1 FROM sale_reconciliation_statement_aging a
                    WHERE a.statement_id = s.id)
            """,
            [SUPERUSER_ID, SUPERUSER_ID],
        )
    Statement = env["sale.reconciliation.statement"]
    Statement._create_statement_sequences()
    accepted = Statement.search(
        [("state", "=", "accepted"), ("seal_number", "=", False)],
        order="company_id, accepted_date, id",
    )
    previous_hash = {}
    for statement in accepted:
        company = statement.company_id
        if statement.content_hash != _legacy_hash(statement):
            _logger.warning(
                "Statement %s (id %s) no longer matches what the customer "
                "accepted: left out of the chain of seals.",
                statement.name,
                statement.id,
            )
            continue
        # Written in SQL: an accepted statement refuses any write.
        number = int(Statement._get_seal_sequence(company).next_by_id())
        cr.execute(
            "UPDATE sale_reconciliation_statement SET seal_number = %s WHERE id = %s",
            [number, statement.id],
        )
        statement.invalidate_recordset(["seal_number"])
        seal = statement._compute_seal(previous_hash.get(company.id, ""))
        cr.execute(
            "UPDATE sale_reconciliation_statement SET content_hash = %s WHERE id = %s",
            [seal, statement.id],
        )
        statement.invalidate_recordset(["content_hash"])
        previous_hash[company.id] = seal
