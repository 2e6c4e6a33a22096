"""The customer ledger a statement is read from, in SQL.

A statement must equal the ledger to the cent and a month's statements of
every customer must be generated in seconds, so the ledger is read with a few
set-based queries for a whole batch of statements instead of the ORM (see
``bench/``). Every query flushes the ORM first and is parameterised.

Source of truth: posted journal items on receivable accounts of the
statement's commercial partner (or its contacts) in its company and currency,
dated up to ``date_to``. In the company currency the amounts are the
balances; in another currency, the amounts in that currency. Exchange
difference entries are internal and never listed.

An item matched with a journal item in another currency (an invoice in EUR
paid in USD) is settled outside the statement's currency: each such match
dated up to the statement's end, with the exchange difference it made on the
item, is an entry of the statement ("settled in another currency") of the
amount it took off the item, so that opening + debit - credit = closing = what
is open of the items at the end, in every currency.
"""

from odoo.tools import SQL

# The statements being read, with what the reading needs of their company.
STATEMENTS_SELECT = """
    SELECT s.id, s.partner_id, s.company_id, s.currency_id, s.date_from,
           s.date_to, s.currency_id = company.currency_id AS in_company_currency,
           company.currency_exchange_journal_id AS exchange_journal_id
      FROM sale_reconciliation_statement s
      JOIN res_company company ON company.id = s.company_id
     WHERE s.id = ANY(%(statement_ids)s)
"""

# The receivable items of each statement {stmt}, up to its end date, with
# their amount in the statement's currency.
ITEMS_SELECT = """
    SELECT st.id AS statement_id,
           st.company_id,
           aml.id AS aml_id,
           aml.move_id,
           aml.date,
           aml.date_maturity,
           COALESCE(move.invoice_date, aml.date) AS invoice_date,
           CASE WHEN st.in_company_currency THEN aml.balance
                ELSE aml.amount_currency END AS amount,
           st.in_company_currency,
           st.currency_id,
           st.date_from,
           st.date_to
      FROM {stmt} st
      JOIN res_partner partner ON partner.commercial_partner_id = st.partner_id
      JOIN account_move_line aml ON aml.partner_id = partner.id
                                AND aml.company_id = st.company_id
                                AND aml.currency_id = st.currency_id
                                AND aml.parent_state = 'posted'
                                AND aml.date <= st.date_to
      JOIN account_account account ON account.id = aml.account_id
                                  AND account.account_type = 'asset_receivable'
      JOIN account_move move ON move.id = aml.move_id
     WHERE move.journal_id IS DISTINCT FROM st.exchange_journal_id
"""

# The partial reconciliations of the items {items} dated up to their
# statement's end: what each took off its item, in the statement's currency,
# and whether it settled the item outside the statement: with a journal item
# in another currency (the partial stores both sides' currencies), or an
# exchange difference (few lines: one hashed look-up, whatever the row
# estimates of a batch just created).
MATCHES_SELECT = """
    SELECT matched.*,
           matched.is_exchange
               OR matched.other_currency_id != matched.currency_id AS is_settlement
      FROM (
        SELECT sides.*,
               sides.other_id IN (
                   SELECT aml.id
                     FROM account_move_line aml
                    WHERE aml.journal_id IN (
                              SELECT currency_exchange_journal_id FROM res_company
                               WHERE currency_exchange_journal_id IS NOT NULL)
               ) AS is_exchange
          FROM (
          SELECT i.statement_id, i.company_id, i.aml_id,
                 i.move_id AS item_move_id, i.currency_id, i.date_from,
                 p.max_date AS date, p.credit_move_id AS other_id,
                 p.credit_currency_id AS other_currency_id,
                 -CASE WHEN i.in_company_currency THEN p.amount
                       ELSE p.debit_amount_currency END AS amount
            FROM {items} i
            JOIN account_partial_reconcile p ON p.debit_move_id = i.aml_id
           WHERE p.max_date <= i.date_to
          UNION ALL
          SELECT i.statement_id, i.company_id, i.aml_id, i.move_id,
                 i.currency_id, i.date_from,
                 p.max_date, p.debit_move_id, p.debit_currency_id,
                 CASE WHEN i.in_company_currency THEN p.amount
                      ELSE p.credit_amount_currency END
            FROM {items} i
            JOIN account_partial_reconcile p ON p.credit_move_id = i.aml_id
           WHERE p.max_date <= i.date_to
          ) sides
      ) matched
"""

# The items {items} with what is still open of each at its statement's end
# date (its amount less its matches {matches}), and how many days past due it
# is then. For the analysed temporary tables of a batch: a hash join.
OPEN_ITEMS_SELECT = """
    SELECT i.*,
           i.amount + COALESCE(m.amount, 0) AS residual,
           i.date_to - COALESCE(i.date_maturity, i.date) AS days_due
      FROM {items} i
      LEFT JOIN (
          SELECT statement_id, aml_id, SUM(amount) AS amount
            FROM {matches}
           GROUP BY statement_id, aml_id
      ) m ON m.statement_id = i.statement_id AND m.aml_id = i.aml_id
"""

# The same for the one-query reading, where PostgreSQL cannot estimate the
# rows of the items and may loop over them for each match: a sum over the
# items and their matches together, linear whatever the estimates.
OPEN_ITEMS_WINDOW_SELECT = """
    SELECT u.statement_id, u.company_id, u.aml_id, u.move_id, u.date,
           u.date_maturity, u.invoice_date, u.amount, u.in_company_currency,
           u.currency_id, u.date_from, u.date_to, u.residual,
           u.date_to - COALESCE(u.date_maturity, u.date) AS days_due
      FROM (
          SELECT all_rows.*,
                 SUM(all_rows.amount) OVER (
                     PARTITION BY all_rows.statement_id, all_rows.aml_id)
                     AS residual
            FROM (
                SELECT i.statement_id, i.company_id, i.aml_id, i.move_id, i.date,
                       i.date_maturity, i.invoice_date, i.amount,
                       i.in_company_currency, i.currency_id, i.date_from,
                       i.date_to, TRUE AS is_item
                  FROM {items} i
                UNION ALL
                SELECT m.statement_id, NULL, m.aml_id, NULL, NULL, NULL, NULL,
                       m.amount, NULL, NULL, NULL, NULL, FALSE
                  FROM {matches} m
            ) all_rows
      ) u
     WHERE u.is_item
"""

# The entries "settled in another currency" of the statements: per item and
# day, what its matches {matches} outside the statement took off it, with the
# document it was settled with: the journal item's in the other currency, or
# for an exchange difference the one of the match that made it (never the
# exchange difference entry itself).
SETTLEMENTS_SELECT = """
    SELECT m.statement_id, m.company_id, m.aml_id, m.date, m.item_move_id,
           m.date_from,
           SUM(m.amount) AS amount,
           MIN(CASE WHEN NOT m.is_exchange
                    THEN (SELECT other.move_id FROM account_move_line other
                           WHERE other.id = m.other_id)
                    ELSE (SELECT origin_other.move_id
                            FROM account_move_line exchange_line
                            JOIN account_partial_reconcile origin
                              ON origin.exchange_move_id = exchange_line.move_id
                             AND m.aml_id IN (origin.debit_move_id,
                                              origin.credit_move_id)
                            JOIN account_move_line origin_other
                              ON origin_other.id IN (origin.debit_move_id,
                                                     origin.credit_move_id)
                             AND origin_other.id != m.aml_id
                           WHERE exchange_line.id = m.other_id
                           LIMIT 1)
               END) AS move_id
      FROM {matches} m
     WHERE m.is_settlement
     GROUP BY m.statement_id, m.company_id, m.aml_id, m.date, m.item_move_id,
              m.date_from
    HAVING SUM(m.amount) != 0
"""

# What makes the balance of the statements: their items and settlements.
ENTRIES_SELECT = """
    SELECT statement_id, date, amount FROM {items}
    UNION ALL
    SELECT statement_id, date, amount FROM {settlements}
"""

# The same in one query, for a look at a few statements.
LEDGER_ITEMS = (
    " stmt AS ("
    + STATEMENTS_SELECT
    + "), items AS ("
    + ITEMS_SELECT.format(stmt="stmt")
    + "), matches AS ("
    + MATCHES_SELECT.format(stmt="stmt", items="items")
    + "), open_items AS ("
    + OPEN_ITEMS_WINDOW_SELECT.format(items="items", matches="matches")
    + "), settlements AS ("
    + SETTLEMENTS_SELECT.format(matches="matches")
    + "), entries AS ("
    + ENTRIES_SELECT.format(items="items", settlements="settlements")
    + ") "
)

# For a batch of statements, the same in temporary tables, each analysed so
# that PostgreSQL plans the next step on real row counts (the statements were
# often created in the same transaction).
TEMPORARY_TABLES = {
    "stmt": "sale_reconciliation_stmt",
    "items": "sale_reconciliation_items",
    "matches": "sale_reconciliation_matches",
    "open_items": "sale_reconciliation_open_items",
    "settlements": "sale_reconciliation_settlements",
}
OPEN_ITEMS_STEPS = [
    step
    for table, select in (
        ("stmt", STATEMENTS_SELECT),
        ("items", ITEMS_SELECT),
        ("matches", MATCHES_SELECT),
        ("open_items", OPEN_ITEMS_SELECT),
        ("settlements", SETTLEMENTS_SELECT),
    )
    for step in (
        f"CREATE TEMPORARY TABLE {TEMPORARY_TABLES[table]} ON COMMIT DROP AS"
        + select.format(**TEMPORARY_TABLES),
        f"ANALYZE {TEMPORARY_TABLES[table]}",
    )
]
DROP_OPEN_ITEMS = "DROP TABLE IF EXISTS " + ", ".join(
    reversed(TEMPORARY_TABLES.values())
)
ENTRIES = "(" + ENTRIES_SELECT.format(**TEMPORARY_TABLES) + ")"

# Entry lines of the statements, one per journal item of the period and per
# settlement in another currency, in date order, with the running balance.
INSERT_ENTRY_LINES = """
    WITH opening AS (
        SELECT e.statement_id, SUM(e.amount) AS amount
          FROM {entries} e
          JOIN sale_reconciliation_stmt st ON st.id = e.statement_id
         WHERE e.date < st.date_from
         GROUP BY e.statement_id
    ),
    move_orders AS (
        SELECT invoice_line.move_id, string_agg(DISTINCT sale.name, ', ') AS names
          FROM account_move_line invoice_line
          JOIN sale_order_line_invoice_rel rel ON rel.invoice_line_id = invoice_line.id
          JOIN sale_order_line sale_line ON sale_line.id = rel.order_line_id
          JOIN sale_order sale ON sale.id = sale_line.order_id
         WHERE invoice_line.move_id IN (
                   SELECT move_id FROM sale_reconciliation_open_items
                    WHERE date >= date_from)
         GROUP BY invoice_line.move_id
    ),
    period_entries AS (
        SELECT o.statement_id, o.company_id, o.date, o.date_maturity, o.aml_id,
               o.move_id,
               CASE WHEN move.move_type IN ('out_invoice', 'out_receipt') THEN 'invoice'
                    WHEN move.move_type = 'out_refund' THEN 'credit_note'
                    WHEN move.origin_payment_id IS NOT NULL
                      OR move.statement_line_id IS NOT NULL THEN 'payment'
                    ELSE 'other' END AS document_type,
               move.name,
               CASE WHEN move.move_type IN ('out_invoice', 'out_refund', 'out_receipt')
                    THEN NULLIF(move.ref, '')
                    ELSE COALESCE(NULLIF(move.ref, ''),
                                  NULLIF(move.payment_reference, ''))
               END AS reference,
               mo.names AS sale_order_refs,
               o.amount,
               o.residual,
               0 AS kind
          FROM sale_reconciliation_open_items o
          JOIN account_move move ON move.id = o.move_id
          LEFT JOIN move_orders mo ON mo.move_id = o.move_id
         WHERE o.date >= o.date_from
        UNION ALL
        -- Named after the documents in the other currency, referring to the
        -- statement's item they settled.
        SELECT t.statement_id, t.company_id, t.date, NULL, t.aml_id,
               COALESCE(t.move_id, t.item_move_id),
               'settlement',
               COALESCE(other.name, item.name),
               item.name,
               NULL,
               t.amount,
               0,
               1
          FROM sale_reconciliation_settlements t
          JOIN account_move item ON item.id = t.item_move_id
          LEFT JOIN account_move other ON other.id = t.move_id
         WHERE t.date >= t.date_from
    )
    INSERT INTO sale_reconciliation_statement_line (
        statement_id, company_id, sequence, display_type, date, date_maturity,
        move_line_id, move_id, document_type, name, reference, sale_order_refs,
        debit, credit,
        balance, amount_residual, create_uid, create_date, write_uid, write_date)
    SELECT e.statement_id,
           e.company_id,
           1000 * ROW_NUMBER() OVER entries,
           'entry',
           e.date,
           e.date_maturity,
           e.aml_id,
           e.move_id,
           e.document_type,
           e.name,
           e.reference,
           e.sale_order_refs,
           GREATEST(e.amount, 0),
           GREATEST(-e.amount, 0),
           COALESCE(op.amount, 0) + SUM(e.amount) OVER entries,
           e.residual,
           %(uid)s, NOW() AT TIME ZONE 'UTC', %(uid)s, NOW() AT TIME ZONE 'UTC'
      FROM period_entries e
      LEFT JOIN opening op ON op.statement_id = e.statement_id
    WINDOW entries AS (
        PARTITION BY e.statement_id ORDER BY e.date, e.kind, e.move_id, e.aml_id)
""".replace("{entries}", ENTRIES)

# Under each invoice and credit note of a detailed statement: its goods, with
# the delivered quantity of the order line, so goods can be checked against
# money. Attached to the first entry line of the document.
INSERT_DETAIL_LINES = """
    WITH entries AS (
        SELECT DISTINCT ON (line.statement_id, line.move_id)
               line.statement_id, s.company_id, line.move_id, line.sequence, line.date
          FROM sale_reconciliation_statement_line line
          JOIN sale_reconciliation_statement s ON s.id = line.statement_id
         WHERE line.statement_id = ANY(%(statement_ids)s)
           AND s.statement_type = 'detailed'
           AND line.display_type = 'entry'
           AND line.document_type IN ('invoice', 'credit_note')
         ORDER BY line.statement_id, line.move_id, line.sequence
    ),
    delivered AS (
        SELECT rel.invoice_line_id,
               SUM(sale_line.qty_delivered) AS qty_delivered,
               string_agg(DISTINCT sale.name, ', ') AS order_names
          FROM sale_order_line_invoice_rel rel
          JOIN sale_order_line sale_line ON sale_line.id = rel.order_line_id
          JOIN sale_order sale ON sale.id = sale_line.order_id
         WHERE rel.invoice_line_id IN (
                   SELECT aml.id FROM account_move_line aml
                    WHERE aml.move_id IN (SELECT move_id FROM entries))
         GROUP BY rel.invoice_line_id
    )
    INSERT INTO sale_reconciliation_statement_line (
        statement_id, company_id, sequence, display_type, date, move_id, name,
        sale_order_refs,
        product_id, quantity, product_uom_id, price_unit, price_subtotal,
        qty_delivered, debit, credit, balance, amount_residual,
        create_uid, create_date, write_uid, write_date)
    SELECT e.statement_id,
           e.company_id,
           e.sequence + ROW_NUMBER() OVER (
               PARTITION BY e.statement_id, e.move_id ORDER BY aml.sequence, aml.id),
           'detail',
           e.date,
           e.move_id,
           COALESCE(NULLIF(split_part(aml.name, E'\\n', 1), ''), '/'),
           d.order_names,
           aml.product_id,
           aml.quantity,
           aml.product_uom_id,
           aml.price_unit,
           aml.price_subtotal,
           d.qty_delivered,
           0, 0, 0, 0,
           %(uid)s, NOW() AT TIME ZONE 'UTC', %(uid)s, NOW() AT TIME ZONE 'UTC'
      FROM entries e
      JOIN account_move_line aml ON aml.move_id = e.move_id
                                AND aml.display_type = 'product'
      LEFT JOIN delivered d ON d.invoice_line_id = aml.id
"""

# Totals of statements s from their entries {entries} and open items
# {open_items}.
TOTALS_SELECT = """
    SELECT s.id AS statement_id,
           COALESCE(e.opening, 0) AS opening,
           COALESCE(e.debit, 0) AS debit,
           COALESCE(e.credit, 0) AS credit,
           COALESCE(e.entries, 0) AS entries,
           COALESCE(o.items, 0) AS items,
           COALESCE(o.overdue, 0) AS overdue
      FROM sale_reconciliation_statement s
      LEFT JOIN (
          SELECT e.statement_id,
                 SUM(e.amount) FILTER (WHERE e.date < st.date_from) AS opening,
                 SUM(GREATEST(e.amount, 0)) FILTER (
                     WHERE e.date >= st.date_from) AS debit,
                 SUM(GREATEST(-e.amount, 0)) FILTER (
                     WHERE e.date >= st.date_from) AS credit,
                 COUNT(*) FILTER (WHERE e.date >= st.date_from) AS entries
            FROM {entries} e
            JOIN sale_reconciliation_statement st ON st.id = e.statement_id
           GROUP BY e.statement_id
      ) e ON e.statement_id = s.id
      LEFT JOIN (
          SELECT statement_id,
                 COUNT(*) AS items,
                 SUM(residual) FILTER (
                     WHERE residual > 0 AND days_due > 0) AS overdue
            FROM {open_items}
           GROUP BY statement_id
      ) o ON o.statement_id = s.id
     WHERE s.id = ANY(%(statement_ids)s)
"""

# The ledger's totals now, to tell whether a frozen statement still matches.
LEDGER_TOTALS = (
    "WITH"
    + LEDGER_ITEMS
    + TOTALS_SELECT.format(entries="entries", open_items="open_items")
)


UPDATE_TOTALS = (
    """
    UPDATE sale_reconciliation_statement s
       SET opening_balance = t.opening,
           total_debit = t.debit,
           total_credit = t.credit,
           closing_balance = t.opening + t.debit - t.credit,
           overdue_amount = t.overdue,
           write_uid = %(uid)s,
           write_date = NOW() AT TIME ZONE 'UTC'
      FROM ("""
    + TOTALS_SELECT.format(entries=ENTRIES, open_items=TEMPORARY_TABLES["open_items"])
    + """) t
     WHERE t.statement_id = s.id
 RETURNING s.id, t.items
"""
)

# The aging of the statements: what is open of their items at their end, per
# bucket of their company's aging, as the Aged Receivables report buckets it.
# %(policies)s: [{company_id, basis, thresholds}] (thresholds as the report's
# width_bucket() takes them); %(buckets)s: [{company_id, sequence, name (by
# language), day_from, day_to}], every bucket of each company, written even
# when nothing is in it.
INSERT_AGING = """
    WITH policies AS (
        SELECT *
          FROM jsonb_to_recordset(%(policies)s::jsonb)
               AS p(company_id int, basis text, thresholds int[])
    ),
    buckets AS (
        SELECT *
          FROM jsonb_to_recordset(%(buckets)s::jsonb)
               AS b(company_id int, sequence int, name jsonb, day_from int,
                    day_to int)
    ),
    aged AS (
        SELECT o.statement_id,
               width_bucket(
                   o.date_to - CASE WHEN p.basis = 'invoice' THEN o.invoice_date
                                    ELSE COALESCE(o.date_maturity, o.date) END,
                   p.thresholds) AS sequence,
               SUM(o.residual) AS amount
          FROM sale_reconciliation_open_items o
          JOIN policies p ON p.company_id = o.company_id
         GROUP BY 1, 2
    )
    INSERT INTO sale_reconciliation_statement_aging (
        statement_id, company_id, sequence, name, day_from, day_to, amount,
        create_uid, create_date, write_uid, write_date)
    SELECT st.id, st.company_id, b.sequence, b.name, b.day_from, b.day_to,
           ROUND(COALESCE(a.amount, 0), currency.decimal_places),
           %(uid)s, NOW() AT TIME ZONE 'UTC', %(uid)s, NOW() AT TIME ZONE 'UTC'
      FROM sale_reconciliation_stmt st
      JOIN res_currency currency ON currency.id = st.currency_id
      JOIN buckets b ON b.company_id = st.company_id
      LEFT JOIN aged a ON a.statement_id = st.id AND a.sequence = b.sequence
"""

# Customers, per currency, with receivable items or settlements in another
# currency in a period, or an open balance at its end, in a company: who gets
# a statement. The balance is the statements' closing balance: the items less
# what matches in another currency (and their exchange differences) took off
# them, so a foreign invoice paid in full in another currency is not open.
STATEMENT_CANDIDATES = """
    WITH items AS (
        SELECT partner.commercial_partner_id AS partner_id,
               aml.id,
               aml.currency_id,
               aml.date,
               aml.currency_id = company.currency_id AS in_company_currency,
               CASE WHEN aml.currency_id = company.currency_id THEN aml.balance
                    ELSE aml.amount_currency END AS amount
          FROM account_move_line aml
          JOIN res_company company ON company.id = aml.company_id
          JOIN res_partner partner ON partner.id = aml.partner_id
          JOIN account_account account ON account.id = aml.account_id
                                      AND account.account_type = 'asset_receivable'
         WHERE aml.company_id = %(company_id)s
           AND aml.parent_state = 'posted'
           AND aml.date <= %(date_to)s
           AND aml.journal_id IS DISTINCT FROM company.currency_exchange_journal_id
           AND (%(partner_ids)s::int[] IS NULL
                OR partner.commercial_partner_id = ANY(%(partner_ids)s::int[]))
    ),
    exchange_lines AS (
        SELECT aml.id
          FROM account_move_line aml
          JOIN res_company company
            ON company.currency_exchange_journal_id = aml.journal_id
         WHERE company.id = %(company_id)s
    ),
    settlements AS (
        SELECT sides.partner_id, sides.currency_id, sides.date, sides.amount
          FROM (
              SELECT i.partner_id, i.currency_id, p.max_date AS date,
                     p.credit_move_id AS other_id,
                     p.credit_currency_id AS other_currency_id,
                     -CASE WHEN i.in_company_currency THEN p.amount
                           ELSE p.debit_amount_currency END AS amount
                FROM items i
                JOIN account_partial_reconcile p ON p.debit_move_id = i.id
               WHERE p.max_date <= %(date_to)s
              UNION ALL
              SELECT i.partner_id, i.currency_id, p.max_date, p.debit_move_id,
                     p.debit_currency_id,
                     CASE WHEN i.in_company_currency THEN p.amount
                          ELSE p.credit_amount_currency END
                FROM items i
                JOIN account_partial_reconcile p ON p.credit_move_id = i.id
               WHERE p.max_date <= %(date_to)s
          ) sides
          LEFT JOIN exchange_lines ON exchange_lines.id = sides.other_id
         WHERE sides.amount != 0
           AND (sides.other_currency_id != sides.currency_id
                OR exchange_lines.id IS NOT NULL)
    )
    SELECT partner_id,
           currency_id,
           BOOL_OR(date >= %(date_from)s) AS has_activity,
           SUM(amount) AS balance
      FROM (
          SELECT partner_id, currency_id, date, amount FROM items
          UNION ALL
          SELECT partner_id, currency_id, date, amount FROM settlements
      ) entries
     GROUP BY partner_id, currency_id
"""


def ledger_sql(query, **params):
    """``query`` with its named parameters, ready for execute_query."""
    return SQL(query, **params)
