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
           CASE WHEN st.in_company_currency THEN aml.balance
                ELSE aml.amount_currency END AS amount,
           st.in_company_currency,
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

# The items {items} with what is still open of each at its statement's end
# date, and how many days past due it is then.
OPEN_ITEMS_SELECT = """
    SELECT i.*,
           i.amount + COALESCE(m.amount, 0) AS residual,
           i.date_to - COALESCE(i.date_maturity, i.date) AS days_due
      FROM {items} i
      LEFT JOIN (
          SELECT statement_id, aml_id, SUM(amount) AS amount
            FROM (
                SELECT i.statement_id, i.aml_id,
                       -CASE WHEN i.in_company_currency THEN p.amount
                             ELSE p.debit_amount_currency END AS amount
                  FROM {items} i
                  JOIN account_partial_reconcile p ON p.debit_move_id = i.aml_id
                 WHERE p.max_date <= i.date_to
                UNION ALL
                SELECT i.statement_id, i.aml_id,
                       CASE WHEN i.in_company_currency THEN p.amount
                            ELSE p.credit_amount_currency END AS amount
                  FROM {items} i
                  JOIN account_partial_reconcile p ON p.credit_move_id = i.aml_id
                 WHERE p.max_date <= i.date_to
            ) sides
           GROUP BY statement_id, aml_id
      ) m ON m.statement_id = i.statement_id AND m.aml_id = i.aml_id
"""

# The same in one query, for a look at a few statements.
LEDGER_ITEMS = (
    " stmt AS ("
    + STATEMENTS_SELECT
    + "), items AS ("
    + ITEMS_SELECT.format(stmt="stmt")
    + "), open_items AS ("
    + OPEN_ITEMS_SELECT.format(items="items")
    + ") "
)

# For a batch of statements, the same in three temporary tables, each
# analysed so that PostgreSQL plans the next step on real row counts (the
# statements were often created in the same transaction).
OPEN_ITEMS_STEPS = [
    "CREATE TEMPORARY TABLE sale_reconciliation_stmt ON COMMIT DROP AS"
    + STATEMENTS_SELECT,
    "ANALYZE sale_reconciliation_stmt",
    "CREATE TEMPORARY TABLE sale_reconciliation_items ON COMMIT DROP AS"
    + ITEMS_SELECT.format(stmt="sale_reconciliation_stmt"),
    "ANALYZE sale_reconciliation_items",
    "CREATE TEMPORARY TABLE sale_reconciliation_open_items ON COMMIT DROP AS"
    + OPEN_ITEMS_SELECT.format(items="sale_reconciliation_items"),
    "ANALYZE sale_reconciliation_open_items",
]
DROP_OPEN_ITEMS = (
    "DROP TABLE IF EXISTS sale_reconciliation_open_items, "
    "sale_reconciliation_items, sale_reconciliation_stmt"
)

# Entry lines of the statements, one per journal item of the period, in date
# order, with the running balance.
INSERT_ENTRY_LINES = """
    WITH opening AS (
        SELECT statement_id, SUM(amount) AS amount
          FROM sale_reconciliation_open_items
         WHERE date < date_from
         GROUP BY statement_id
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
    )
    INSERT INTO sale_reconciliation_statement_line (
        statement_id, company_id, sequence, display_type, date, date_maturity,
        move_line_id, move_id, document_type, name, reference, sale_order_refs,
        debit, credit,
        balance, amount_residual, create_uid, create_date, write_uid, write_date)
    SELECT o.statement_id,
           o.company_id,
           1000 * ROW_NUMBER() OVER entries,
           'entry',
           o.date,
           o.date_maturity,
           o.aml_id,
           o.move_id,
           CASE WHEN move.move_type IN ('out_invoice', 'out_receipt') THEN 'invoice'
                WHEN move.move_type = 'out_refund' THEN 'credit_note'
                WHEN move.origin_payment_id IS NOT NULL
                  OR move.statement_line_id IS NOT NULL THEN 'payment'
                ELSE 'other' END,
           move.name,
           CASE WHEN move.move_type IN ('out_invoice', 'out_refund', 'out_receipt')
                THEN NULLIF(move.ref, '')
                ELSE COALESCE(NULLIF(move.ref, ''), NULLIF(move.payment_reference, ''))
           END,
           mo.names,
           GREATEST(o.amount, 0),
           GREATEST(-o.amount, 0),
           COALESCE(op.amount, 0) + SUM(o.amount) OVER entries,
           o.residual,
           %(uid)s, NOW() AT TIME ZONE 'UTC', %(uid)s, NOW() AT TIME ZONE 'UTC'
      FROM sale_reconciliation_open_items o
      JOIN account_move move ON move.id = o.move_id
      LEFT JOIN opening op ON op.statement_id = o.statement_id
      LEFT JOIN move_orders mo ON mo.move_id = o.move_id
     WHERE o.date >= o.date_from
    WINDOW entries AS (PARTITION BY o.statement_id ORDER BY o.date, o.move_id, o.aml_id)
"""

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

# Totals and aging of statements s from their open items o.
TOTALS_SELECT = """
    SELECT s.id AS statement_id,
           COALESCE(SUM(o.amount) FILTER (WHERE o.date < s.date_from), 0) AS opening,
           COALESCE(SUM(GREATEST(o.amount, 0)) FILTER (
               WHERE o.date >= s.date_from), 0) AS debit,
           COALESCE(SUM(GREATEST(-o.amount, 0)) FILTER (
               WHERE o.date >= s.date_from), 0) AS credit,
           COUNT(o.aml_id) FILTER (WHERE o.date >= s.date_from) AS entries,
           COUNT(o.aml_id) AS items,
           COALESCE(SUM(o.residual) FILTER (
               WHERE o.residual > 0 AND o.days_due > 0), 0) AS overdue,
           COALESCE(SUM(o.residual) FILTER (WHERE o.days_due <= 0), 0) AS aging_0,
           COALESCE(SUM(o.residual) FILTER (
               WHERE o.days_due BETWEEN 1 AND 30), 0) AS aging_30,
           COALESCE(SUM(o.residual) FILTER (
               WHERE o.days_due BETWEEN 31 AND 60), 0) AS aging_60,
           COALESCE(SUM(o.residual) FILTER (
               WHERE o.days_due BETWEEN 61 AND 90), 0) AS aging_90,
           COALESCE(SUM(o.residual) FILTER (WHERE o.days_due > 90), 0) AS aging_older
      FROM sale_reconciliation_statement s
      LEFT JOIN {source} o ON o.statement_id = s.id
     WHERE s.id = ANY(%(statement_ids)s)
     GROUP BY s.id
"""

# The ledger's totals now, to tell whether a frozen statement still matches.
LEDGER_TOTALS = "WITH" + LEDGER_ITEMS + TOTALS_SELECT.format(source="open_items")


UPDATE_TOTALS = (
    """
    UPDATE sale_reconciliation_statement s
       SET opening_balance = t.opening,
           total_debit = t.debit,
           total_credit = t.credit,
           closing_balance = t.opening + t.debit - t.credit,
           overdue_amount = t.overdue,
           aging_current = t.aging_0,
           aging_1_30 = t.aging_30,
           aging_31_60 = t.aging_60,
           aging_61_90 = t.aging_90,
           aging_over_90 = t.aging_older,
           write_uid = %(uid)s,
           write_date = NOW() AT TIME ZONE 'UTC'
      FROM ("""
    + TOTALS_SELECT.format(source="sale_reconciliation_open_items")
    + """) t
     WHERE t.statement_id = s.id
 RETURNING s.id, t.items
"""
)

# Customers, per currency, with receivable items in a period or an open
# balance at its end, in a company: who gets a statement.
STATEMENT_CANDIDATES = """
    SELECT partner.commercial_partner_id AS partner_id,
           aml.currency_id,
           BOOL_OR(aml.date >= %(date_from)s) AS has_activity,
           SUM(CASE WHEN aml.currency_id = company.currency_id THEN aml.balance
                    ELSE aml.amount_currency END) AS balance
      FROM account_move_line aml
      JOIN res_company company ON company.id = aml.company_id
      JOIN res_partner partner ON partner.id = aml.partner_id
      JOIN account_account account ON account.id = aml.account_id
                                  AND account.account_type = 'asset_receivable'
      JOIN account_move move ON move.id = aml.move_id
     WHERE aml.company_id = %(company_id)s
       AND aml.parent_state = 'posted'
       AND aml.date <= %(date_to)s
       AND move.journal_id IS DISTINCT FROM company.currency_exchange_journal_id
       AND (%(partner_ids)s::int[] IS NULL
            OR partner.commercial_partner_id = ANY(%(partner_ids)s::int[]))
     GROUP BY partner.commercial_partner_id, aml.currency_id
"""


def ledger_sql(query, **params):
    """``query`` with its named parameters, ready for execute_query."""
    return SQL(query, **params)
