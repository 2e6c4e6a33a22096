-- Multiply the seeded documents :copies times, keeping every link between
-- them (orders, lines, invoices, journal items, payments, reconciliations).
-- Each copy shifts the ids of a table by (copy number x that table's
-- largest id), and the customers by (copy number x :partner_shift), so a
-- copy can belong to other customers (0: the same ones). Run with
-- psql -v copies=N -v partner_shift=M.
\set ON_ERROR_STOP on
-- Payments and their journal entries point at each other: check the foreign
-- keys of the copies only once all of them are in (needs a superuser).
SET session_replication_role = replica;
CREATE TEMP TABLE span AS SELECT
    (SELECT max(id) FROM sale_order) AS so,
    (SELECT max(id) FROM sale_order_line) AS sol,
    (SELECT max(id) FROM account_move) AS am,
    (SELECT max(id) FROM account_move_line) AS aml,
    (SELECT max(id) FROM account_payment) AS pay,
    (SELECT max(id) FROM account_partial_reconcile) AS apr,
    (SELECT coalesce(max(id), 0) FROM account_full_reconcile) AS afr,
    :partner_shift AS pshift;
CREATE TEMP TABLE copy_no AS SELECT generate_series(1, :copies) AS k;

CREATE OR REPLACE FUNCTION pg_temp.clone(tbl text, shifts jsonb, extra jsonb DEFAULT '{}')
RETURNS void LANGUAGE plpgsql AS $$
DECLARE cols text; exprs text;
BEGIN
    SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position),
           string_agg(
               CASE
                   WHEN extra ? column_name THEN extra ->> column_name
                   WHEN shifts ? column_name THEN format('t.%I + c.k * s.%s', column_name, shifts ->> column_name)
                   ELSE format('t.%I', column_name)
               END, ', ' ORDER BY ordinal_position)
      INTO cols, exprs
      FROM information_schema.columns
     WHERE table_name = tbl AND table_schema = 'public';
    EXECUTE format('INSERT INTO %I (%s) SELECT %s FROM %I t, copy_no c, span s', tbl, cols, exprs, tbl);
END $$;

SELECT pg_temp.clone('account_full_reconcile', '{"id": "afr"}');
SELECT pg_temp.clone('sale_order',
                     '{"id": "so", "partner_id": "pshift", "partner_invoice_id": "pshift",
                       "partner_shipping_id": "pshift"}',
                     '{"name": "t.name || ''-'' || c.k"}');
SELECT pg_temp.clone('sale_order_line', '{"id": "sol", "order_id": "so"}');
-- References get the copy's number too, so a copied payment's memo names
-- the copied invoice (INV/2026/00001-5), not the original.
SELECT pg_temp.clone('account_payment', '{"id": "pay", "move_id": "am", "partner_id": "pshift"}',
                     '{"memo": "t.memo || ''-'' || c.k"}');
SELECT pg_temp.clone('account_move',
                     '{"id": "am", "origin_payment_id": "pay", "reversed_entry_id": "am",
                       "partner_id": "pshift", "commercial_partner_id": "pshift",
                       "partner_shipping_id": "pshift"}',
                     '{"name": "t.name || ''-'' || c.k", "ref": "t.ref || ''-'' || c.k",
                       "payment_reference": "t.payment_reference || ''-'' || c.k"}');
SELECT pg_temp.clone('account_move_line',
                     '{"id": "aml", "move_id": "am", "full_reconcile_id": "afr", "partner_id": "pshift"}',
                     '{"name": "t.name || ''-'' || c.k", "ref": "t.ref || ''-'' || c.k"}');
SELECT pg_temp.clone('account_partial_reconcile',
                     '{"id": "apr", "debit_move_id": "aml", "credit_move_id": "aml", "full_reconcile_id": "afr"}');
SELECT pg_temp.clone('sale_order_line_invoice_rel', '{"order_line_id": "sol", "invoice_line_id": "aml"}');
SELECT pg_temp.clone('account_move__account_payment', '{"invoice_id": "am", "payment_id": "pay"}');

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['sale_order', 'sale_order_line', 'account_move', 'account_move_line',
                             'account_payment', 'account_partial_reconcile', 'account_full_reconcile']
    LOOP
        EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, ''id''), (SELECT max(id) FROM %I))', t, t);
    END LOOP;
END $$;
SET session_replication_role = DEFAULT;
ANALYZE;
