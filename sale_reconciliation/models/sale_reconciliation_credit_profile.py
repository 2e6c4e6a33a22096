import logging
from collections import defaultdict
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

CREDIT_RATINGS = [
    ("a", "Excellent"),
    ("b", "Good"),
    ("c", "Watch"),
    ("d", "Risky"),
]

# Key, in the cursor's precommit data, of the (partner, company) pairs whose
# credit figures are queued for a refresh when the transaction commits.
PENDING_REFRESH_KEY = "sale_reconciliation.credit_refresh"
PENDING_DOCUMENTS_KEY = "sale_reconciliation.credit_refresh_documents"
REFRESH_QUEUED_CRON_XMLID = "sale_reconciliation.ir_cron_refresh_queued_credit_profiles"

# Payment behaviour is rated over this many days.
RATING_WINDOW_DAYS = 365


class SaleReconciliationCreditProfile(models.Model):
    """One customer's credit figures in one company.

    The figures are refreshed by scheduled actions: every night for every
    customer (a credit refresh run per company, in chunks), and soon after a
    commit for the customers whose documents changed in it (queued in
    ``sale.reconciliation.credit.refresh``). They live here, not on the
    partner: refreshing them never writes (nor locks) the partner row that
    every invoice, order and payment of the customer reads.
    """

    _name = "sale.reconciliation.credit.profile"
    _description = "Customer Credit Profile"
    _order = "credit_exposure desc, id"
    _rec_name = "partner_id"
    _check_company_auto = True

    partner_id = fields.Many2one(
        comodel_name="res.partner",
        string="Customer",
        required=True,
        index=True,
        ondelete="cascade",
        readonly=True,
    )
    company_id = fields.Many2one(
        comodel_name="res.company",
        required=True,
        index=True,
        ondelete="cascade",
        readonly=True,
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    user_id = fields.Many2one(
        related="partner_id.user_id",
        string="Salesperson",
        store=True,
        index=True,
    )
    credit_limit = fields.Monetary(readonly=True)
    receivable_amount = fields.Monetary(
        string="Open Receivables",
        readonly=True,
        help="Posted invoices and credit notes not yet paid, less payments not "
        "yet matched.",
    )
    order_amount = fields.Monetary(
        string="Orders to Invoice",
        readonly=True,
        help="What confirmed sales orders still have to invoice, as Odoo "
        "counts it for credit limits: delivered quantities for products "
        "invoiced on delivery, net of posted invoices and credit notes; "
        "converted at today's rate.",
    )
    draft_invoice_amount = fields.Monetary(
        string="Draft Invoices",
        readonly=True,
        help="Draft customer invoices less draft credit notes, except the "
        "lines already counted in the orders to invoice.",
    )
    credit_exposure = fields.Monetary(string="Exposure", readonly=True)
    credit_available = fields.Monetary(string="Available", readonly=True)
    over_limit = fields.Boolean(readonly=True)
    credit_overdue_amount = fields.Monetary(string="Overdue", readonly=True)
    credit_overdue_date = fields.Date(
        string="Oldest Due Date",
        readonly=True,
        help="Due date of the oldest invoice past due.",
    )
    credit_overdue_oldest_days = fields.Integer(
        string="Days Overdue",
        readonly=True,
        help="Days past due of the oldest unpaid invoice, at the last refresh.",
    )
    overdue_hold_amount = fields.Monetary(
        string="Overdue Beyond Hold Delay",
        readonly=True,
        help="What is overdue for longer than the company's overdue hold delay.",
    )
    overdue_hold = fields.Boolean(
        readonly=True,
        help="Owes at least the company's minimum overdue amount for longer "
        "than its overdue hold delay.",
    )
    average_days_late = fields.Float(
        readonly=True,
        digits=(16, 1),
        help="Average days paid late over the last 12 months, weighted by "
        "amount; unpaid invoices count as late until today.",
    )
    credit_rating_computed = fields.Selection(
        selection=CREDIT_RATINGS,
        string="Computed Rating",
        readonly=True,
    )
    credit_rating = fields.Selection(
        selection=CREDIT_RATINGS,
        string="Rating",
        readonly=True,
        help="The computed rating, or the credit manager's override.",
    )
    credit_hold = fields.Boolean(string="Manual Hold", readonly=True)
    on_hold = fields.Boolean(
        readonly=True,
        help="On manual hold or on overdue hold.",
    )
    refresh_date = fields.Datetime(string="Refreshed On", readonly=True)

    _sql_constraints = [
        (
            "partner_company_uniq",
            "UNIQUE(partner_id, company_id)",
            "A customer has one credit profile per company.",
        ),
    ]

    # -------------------------------------------------------------------------
    # ACTIONS
    # -------------------------------------------------------------------------

    def action_open_partner(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "res.partner",
            "res_id": self.partner_id.id,
            "view_mode": "form",
            "context": {"allowed_company_ids": [self.company_id.id]},
        }

    def action_refresh(self):
        for company, profiles in self.grouped("company_id").items():
            # sudo: the figures add up every customer document; the user
            # already sees the profile, the refresh changes nothing else.
            self.sudo()._refresh(company, profiles.partner_id.ids)

    # -------------------------------------------------------------------------
    # REFRESH
    # -------------------------------------------------------------------------

    @api.model
    def _mark_for_refresh(self, pairs):
        """Queue, when the transaction commits, the customers of ``pairs``
        ((partner, company) records, any contact of the customer) for a
        refresh of their credit figures, once however many documents changed,
        and wake the scheduled action that refreshes them.

        Nothing is computed nor locked in the transaction that changed the
        documents: two users posting for the same customer at once never wait
        for nor fail on each other because of credit figures. The check made
        when an order is confirmed reads live figures, not these.

        For the customers a document has once changed, see
        _mark_documents_for_refresh."""
        pairs = {
            (partner.id, company.id)
            for partner, company in pairs
            if partner and company
        }
        if pairs:
            self._get_pending_refresh(PENDING_REFRESH_KEY, set).update(pairs)

    @api.model
    def _mark_documents_for_refresh(self, records):
        """Queue, when the transaction commits, the customers of ``records``
        (sales orders, journal entries or journal items) as they are then:
        confirmed orders, customer documents, and the partners of receivable
        items (of the entries, or the items themselves). Recording them costs
        Odoo's flows nothing but their ids, however often a flow writes them;
        they are read in one query at the commit. The customer a document
        leaves is marked before it changes (_mark_for_refresh)."""
        ids = [record_id for record_id in records._ids if isinstance(record_id, int)]
        if ids:
            documents = self._get_pending_refresh(PENDING_DOCUMENTS_KEY, dict)
            documents.setdefault(records._name, set()).update(ids)

    def _get_pending_refresh(self, key, factory):
        precommit = self.env.cr.precommit
        pending = precommit.data.get(key)
        if pending is None:
            pending = precommit.data[key] = factory()
            # sudo: the queue and the scheduled action are technical; whoever
            # changed a document queues its customer.
            precommit.add(self.sudo()._queue_pending)
        return pending

    def _get_pending_documents_queries(self, documents):
        """The queries of the (partner, company) pairs of the documents
        marked, one a model."""
        queries = []
        if order_ids := documents.get("sale.order"):
            self.env["sale.order"].flush_model(["partner_id", "company_id", "state"])
            queries.append(
                SQL(
                    "SELECT partner_id, company_id FROM sale_order "
                    "WHERE id = ANY(%s) AND state = 'sale'",
                    sorted(order_ids),
                )
            )
        if move_ids := documents.get("account.move"):
            # A customer document's customer (its draft counts too), and the
            # customer of each receivable item of any entry: the credit
            # figures add up receivables by the item's customer, and an entry
            # moving a receivable from one customer to another has no
            # customer of its own.
            Move = self.env["account.move"]
            Move.flush_model(["commercial_partner_id", "company_id", "move_type"])
            queries.append(
                SQL(
                    """
                    SELECT commercial_partner_id, company_id
                      FROM account_move
                     WHERE id = ANY(%s)
                       AND commercial_partner_id IS NOT NULL
                       AND move_type IN %s
                    """,
                    sorted(move_ids),
                    tuple(Move.get_sale_types(include_receipts=True)),
                )
            )
            queries.append(
                self._get_receivable_items_query(
                    SQL("line.move_id = ANY(%s)", sorted(move_ids))
                )
            )
        if line_ids := documents.get("account.move.line"):
            queries.append(
                self._get_receivable_items_query(
                    SQL("line.id = ANY(%s)", sorted(line_ids))
                )
            )
        return queries

    def _get_receivable_items_query(self, condition):
        """The query of the (partner, company) pairs of the receivable
        journal items meeting ``condition`` (SQL on ``line``)."""
        self.env["account.move.line"].flush_model(
            ["move_id", "partner_id", "company_id", "account_id"]
        )
        self.env["account.account"].flush_model(["account_type"])
        return SQL(
            """
            SELECT line.partner_id, line.company_id
              FROM account_move_line line
              JOIN account_account account ON account.id = line.account_id
             WHERE %s
               AND line.partner_id IS NOT NULL
               AND account.account_type = 'asset_receivable'
            """,
            condition,
        )

    def _queue_pending(self):
        data = self.env.cr.precommit.data
        pending = data.pop(PENDING_REFRESH_KEY, set())
        queries = self._get_pending_documents_queries(
            data.pop(PENDING_DOCUMENTS_KEY, {})
        )
        if pending:
            queries.append(
                SQL(
                    "SELECT * FROM unnest(%s::int[], %s::int[])",
                    [partner_id for partner_id, _company_id in pending],
                    [company_id for _partner_id, company_id in pending],
                )
            )
        if not queries:
            return
        cron = self.env["ir.cron"].browse(
            self.env["ir.model.data"]._xmlid_to_res_id(
                REFRESH_QUEUED_CRON_XMLID, raise_if_not_found=False
            )
        )
        # The queue and the wake-up of its scheduled action in one query:
        # ir.cron._trigger() through the ORM took more than the rest of what
        # the module adds to the confirmation of an order (profiled: 4.4 of
        # 13 ms a transaction). The cron workers are told after the commit,
        # as _trigger() does.
        # The documents' pairs are read first, by the documents' ids
        # (MATERIALIZED): joined with the companies in one plan, PostgreSQL
        # scanned the company index of the whole table of orders or entries
        # (1 ms a transaction on the benchmark's database, growing with it).
        now = fields.Datetime.now()
        rows = self.env.execute_query(
            SQL(
                """
                WITH pair(partner_id, company_id) AS MATERIALIZED (%(pairs)s),
                queued AS (
                    INSERT INTO sale_reconciliation_credit_refresh
                                (partner_id, company_id)
                    SELECT DISTINCT partner.commercial_partner_id, pair.company_id
                      FROM pair
                      -- a customer or company made and undone in this
                      -- transaction (a savepoint rolled back) is left out.
                      JOIN res_partner partner ON partner.id = pair.partner_id
                      JOIN res_company company ON company.id = pair.company_id
                    RETURNING 1
                )
                INSERT INTO ir_cron_trigger
                            (cron_id, call_at, create_uid, create_date,
                             write_uid, write_date)
                SELECT cron.id, %(now)s, %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM ir_cron cron
                 WHERE cron.id = %(cron)s
                   AND cron.active
                   AND EXISTS (SELECT FROM queued)
                RETURNING cron_id
                """,
                pairs=SQL(" UNION ").join(queries),
                now=now,
                uid=self.env.uid,
                cron=cron.id or 0,
            )
        )
        if rows:
            self.env.cr.postcommit.add(cron._notifydb)

    @api.model
    def _cron_refresh_queued(self):
        """Refresh the credit figures of the queued customers."""
        rows = self.env.execute_query(
            SQL(
                "DELETE FROM sale_reconciliation_credit_refresh "
                "RETURNING partner_id, company_id"
            )
        )
        partner_ids_by_company = defaultdict(set)
        for partner_id, company_id in rows:
            partner_ids_by_company[company_id].add(partner_id)
        # sudo: scheduled action - the figures add up every document of the
        # customer, in every company.
        profile_model = self.sudo()
        for company_id, partner_ids in partner_ids_by_company.items():
            company = profile_model.env["res.company"].browse(company_id).exists()
            if company:
                profile_model.with_company(company)._refresh(
                    company, sorted(partner_ids)
                )
        return len(rows)

    @api.model
    def _cron_refresh(self):
        """The nightly full refresh: today's credit refresh run of each
        company (sale.reconciliation.credit.refresh.run), a chunk of
        customers per call, each in its own transaction; the scheduled
        action is called again at once while some remain."""
        return self.env["sale.reconciliation.credit.refresh.run"]._cron_process()

    @api.model
    def _refresh_all(self):
        """Every company's customers refreshed in this transaction: for the
        install and the demo data, which are one transaction anyway. The
        scheduled action refreshes them in chunks (:meth:`_cron_refresh`)."""
        # sudo: the figures of every company's customers, whatever companies
        # the user is allowed in.
        profile_model = self.sudo()
        for company in profile_model.env["res.company"].search([]):
            count = profile_model.with_company(company)._refresh(company)
            _logger.info(
                "Credit profiles of %s refreshed: %s customers", company.name, count
            )

    @api.model
    def _refresh(self, company, partner_ids=None):
        """Compute and store the credit figures of the commercial partners
        ``partner_ids`` (all customers with a document, a limit or a hold when
        None) in ``company``. Returns the number of profiles refreshed."""
        figures = self._get_credit_figures(company, partner_ids, include_all=False)
        profiles = self.search(
            [("company_id", "=", company.id)]
            + ([("partner_id", "in", partner_ids)] if partner_ids is not None else [])
        )
        profile_by_partner = {profile.partner_id.id: profile for profile in profiles}
        now = fields.Datetime.now()
        to_create = []
        for partner_id, values in figures.items():
            values["refresh_date"] = now
            profile = profile_by_partner.get(partner_id)
            if profile:
                profile.write(values)
            else:
                to_create.append(
                    dict(values, partner_id=partner_id, company_id=company.id)
                )
        self.create(to_create)
        return len(figures)

    # -------------------------------------------------------------------------
    # FIGURES
    # -------------------------------------------------------------------------

    @api.model
    def _get_credit_figures(
        self, company, partner_ids=None, include_all=True, excluded_orders=None
    ):
        """Credit figures of commercial partners in ``company``, in its
        currency, as ``{partner_id: {field: value}}``.

        ``excluded_orders``: confirmed orders left out of the exposure (those
        a write or create just confirmed, checked as they are confirmed).

        ``partner_ids`` None means every customer with a receivable, an order,
        a draft invoice, a hold, a rating override or a profile in the company.
        Unless ``include_all``, the given partners with none of these are left
        out (nothing to store for them). A few aggregate
        queries whatever the number of customers: nothing is loaded line by
        line.
        """
        today = fields.Date.context_today(self)
        if partner_ids is not None and not partner_ids:
            return {}
        self._flush_credit_sources()
        receivables = self._query_receivables(company, partner_ids, today)
        orders = self._query_orders_to_invoice(
            company, partner_ids, today, excluded_orders=excluded_orders
        )
        drafts = self._query_draft_invoices(company, partner_ids)
        lateness = self._query_average_days_late(company, partner_ids, today)

        ids = set(receivables) | set(orders) | set(drafts) | set(lateness)
        if partner_ids is not None and include_all:
            ids |= set(partner_ids)
        else:
            ids |= set(self._query_partners_with_credit_terms(company, partner_ids))
        partners = self.env["res.partner"].with_company(company).browse(sorted(ids))
        limit_in_use = company.account_use_credit_limit
        currency = company.currency_id
        result = {}
        for partner in partners:
            receivable, overdue, oldest_due, overdue_for_hold, credits = (
                receivables.get(partner.id, (0.0, 0.0, None, 0.0, 0.0))
            )
            exposure = currency.round(
                receivable + orders.get(partner.id, 0.0) + drafts.get(partner.id, 0.0)
            )
            # Unapplied payments and credit notes settle the oldest items
            # first, as the follow-up sets them: overdue is what they leave.
            overdue = max(overdue - credits, 0.0)
            overdue_for_hold = max(overdue_for_hold - credits, 0.0)
            if currency.is_zero(overdue):
                oldest_due = None
            average_days_late = lateness.get(partner.id)
            computed_rating = company._get_credit_rating(average_days_late)
            limit = partner.credit_limit
            overdue_hold = bool(
                company.credit_overdue_hold
                and currency.compare_amounts(overdue_for_hold, 0.0) > 0
                and currency.compare_amounts(
                    overdue_for_hold, company.credit_overdue_amount
                )
                >= 0
            )
            result[partner.id] = {
                "credit_limit": limit,
                "receivable_amount": receivable,
                "order_amount": orders.get(partner.id, 0.0),
                "draft_invoice_amount": drafts.get(partner.id, 0.0),
                "credit_exposure": exposure,
                "credit_available": limit - exposure,
                "over_limit": bool(
                    limit_in_use
                    and limit
                    and currency.compare_amounts(exposure, limit) > 0
                ),
                "credit_overdue_amount": overdue,
                "credit_overdue_date": oldest_due if overdue else False,
                "credit_overdue_oldest_days": (today - oldest_due).days
                if overdue and oldest_due
                else 0,
                "overdue_hold_amount": overdue_for_hold,
                "overdue_hold": overdue_hold,
                "average_days_late": average_days_late or 0.0,
                "credit_rating_computed": computed_rating,
                "credit_rating": partner.credit_rating_override or computed_rating,
                "credit_hold": partner.credit_hold,
                "on_hold": partner.credit_hold or overdue_hold,
            }
        return result

    def _flush_credit_sources(self):
        self.env["account.move.line"].flush_model(
            [
                "account_id",
                "amount_residual",
                "company_id",
                "date_maturity",
                "display_type",
                "move_id",
                "parent_state",
                "partner_id",
                "price_total",
                "reconciled",
            ]
        )
        self.env["account.move"].flush_model(
            [
                "amount_total",
                "amount_total_signed",
                "commercial_partner_id",
                "company_id",
                "move_type",
                "state",
            ]
        )
        self.env["account.partial.reconcile"].flush_model(
            ["amount", "company_id", "credit_move_id", "debit_move_id", "max_date"]
        )
        self.env["account.account"].flush_model(["account_type"])
        self.env["sale.order"].flush_model(
            [
                "amount_total",
                "company_id",
                "currency_id",
                "partner_id",
                "state",
            ]
        )
        self.env["sale.order.line"].flush_model(["invoice_lines"])
        self.env["res.partner"].flush_model(["commercial_partner_id"])

    @staticmethod
    def _partner_clause(column, partner_ids):
        if partner_ids is None:
            return SQL("TRUE")
        return SQL("%s IN %s", SQL.identifier(*column.split(".")), tuple(partner_ids))

    def _query_receivables(self, company, partner_ids, today):
        """{partner: (open receivables, overdue, oldest due date, overdue for
        longer than the hold delay, unapplied credits)} of posted journal
        items."""
        hold_before = today - timedelta(days=company.credit_overdue_days)
        rows = self.env.execute_query(
            SQL(
                """
                SELECT partner.commercial_partner_id,
                       SUM(line.amount_residual),
                       COALESCE(SUM(line.amount_residual) FILTER (
                           WHERE line.amount_residual > 0
                             AND line.date_maturity < %(today)s), 0),
                       MIN(line.date_maturity) FILTER (
                           WHERE line.amount_residual > 0
                             AND line.date_maturity < %(today)s),
                       COALESCE(SUM(line.amount_residual) FILTER (
                           WHERE line.amount_residual > 0
                             AND line.date_maturity < %(hold_before)s), 0),
                       COALESCE(-SUM(line.amount_residual) FILTER (
                           WHERE line.amount_residual < 0), 0)
                  FROM account_move_line line
                  JOIN account_account account ON account.id = line.account_id
                  JOIN res_partner partner ON partner.id = line.partner_id
                 WHERE account.account_type = 'asset_receivable'
                   AND line.company_id = %(company)s
                   AND line.parent_state = 'posted'
                   AND line.reconciled IS NOT TRUE
                   AND %(partners)s
                 GROUP BY partner.commercial_partner_id
                """,
                today=today,
                hold_before=hold_before,
                company=company.id,
                partners=self._partner_clause(
                    "partner.commercial_partner_id", partner_ids
                ),
            )
        )
        return {row[0]: row[1:] for row in rows}

    def _query_orders_to_invoice(
        self, company, partner_ids, today, excluded_orders=None
    ):
        """{partner: what confirmed orders still have to invoice}, in the
        company currency at today's rate, as Odoo counts it for its credit
        limit (res.partner._compute_credit_to_invoice): the orders' amount to
        invoice, delivered quantities for products invoiced on delivery, net
        of posted invoices and credit notes. A short-shipped or returned and
        refunded order stops counting. Orders of the customer's contacts count
        too."""
        domain = [
            ("company_id", "=", company.id),
            ("state", "=", "sale"),
            ("order_line", "any", [("untaxed_amount_to_invoice", ">", 0)]),
        ]
        if partner_ids is not None:
            domain.append(("partner_id.commercial_partner_id", "in", list(partner_ids)))
        if excluded_orders:
            domain.append(("id", "not in", excluded_orders.ids))
        # sudo: sale.order - the figures add up every order of the customer,
        # whoever reads them (callers decide who may).
        orders_sudo = self.env["sale.order"].sudo().with_company(company).search(domain)
        result = defaultdict(float)
        grouped = orders_sudo.grouped(
            lambda order: (order.partner_id.commercial_partner_id, order.currency_id)
        )
        for (partner, currency), orders in grouped.items():
            result[partner.id] += currency._convert(
                sum(orders.mapped("amount_to_invoice")),
                company.currency_id,
                company,
                today,
            )
        return result

    def _query_draft_invoices(self, company, partner_ids):
        """{partner: draft customer invoices less draft credit notes}, in the
        company currency, leaving out lines invoicing a sales order (the
        order's amount to invoice counts them already)."""
        rows = self.env.execute_query(
            SQL(
                """
                SELECT move.commercial_partner_id,
                       SUM(CASE WHEN lines.from_orders
                                THEN lines.other_total * move.amount_total_signed
                                     / NULLIF(move.amount_total, 0)
                                ELSE move.amount_total_signed
                           END)
                  FROM account_move move
                 CROSS JOIN LATERAL (
                       SELECT COALESCE(BOOL_OR(invoiced.invoice_line_id IS NOT NULL),
                                       FALSE) AS from_orders,
                              COALESCE(SUM(line.price_total) FILTER (
                                  WHERE invoiced.invoice_line_id IS NULL
                                    AND line.display_type = 'product'), 0)
                                  AS other_total
                         FROM account_move_line line
                         LEFT JOIN LATERAL (
                              SELECT rel.invoice_line_id
                                FROM sale_order_line_invoice_rel rel
                               WHERE rel.invoice_line_id = line.id
                               LIMIT 1
                         ) invoiced ON TRUE
                        WHERE line.move_id = move.id
                 ) lines
                 WHERE move.state = 'draft'
                   AND move.move_type IN ('out_invoice', 'out_refund')
                   AND move.company_id = %(company)s
                   AND %(partners)s
                 GROUP BY move.commercial_partner_id
                """,
                company=company.id,
                partners=self._partner_clause(
                    "move.commercial_partner_id", partner_ids
                ),
            )
        )
        return {partner_id: amount or 0.0 for partner_id, amount in rows if partner_id}

    def _query_average_days_late(self, company, partner_ids, today):
        """{partner: average days paid late, weighted by amount} over the
        rating window: payments matched with invoices, and invoices still
        unpaid past their due date (late until today). Credit notes are not
        payments and do not count."""
        partners = self._partner_clause("partner.commercial_partner_id", partner_ids)
        rows = self.env.execute_query(
            SQL(
                """
                WITH lateness AS (
                    SELECT partner.commercial_partner_id AS partner_id,
                           partial.amount AS amount,
                           GREATEST(partial.max_date
                                    - COALESCE(invoice_line.date_maturity,
                                               invoice_line.date), 0) AS days
                      FROM account_partial_reconcile partial
                      JOIN account_move_line invoice_line
                        ON invoice_line.id = partial.debit_move_id
                      JOIN account_move invoice ON invoice.id = invoice_line.move_id
                      JOIN account_move_line paid_by
                        ON paid_by.id = partial.credit_move_id
                      JOIN account_move paying ON paying.id = paid_by.move_id
                      JOIN account_account account
                        ON account.id = invoice_line.account_id
                      JOIN res_partner partner ON partner.id = invoice_line.partner_id
                     WHERE invoice.move_type = 'out_invoice'
                       AND paying.move_type NOT IN ('out_refund', 'out_invoice')
                       AND account.account_type = 'asset_receivable'
                       AND partial.company_id = %(company)s
                       AND partial.max_date > %(since)s
                       AND partial.max_date <= %(today)s
                       AND %(partners)s
                 UNION ALL
                    SELECT partner.commercial_partner_id,
                           line.amount_residual,
                           %(today)s - line.date_maturity
                      FROM account_move_line line
                      JOIN account_move invoice ON invoice.id = line.move_id
                      JOIN account_account account ON account.id = line.account_id
                      JOIN res_partner partner ON partner.id = line.partner_id
                     WHERE invoice.move_type = 'out_invoice'
                       AND account.account_type = 'asset_receivable'
                       AND line.company_id = %(company)s
                       AND line.parent_state = 'posted'
                       AND line.amount_residual > 0
                       AND line.date_maturity < %(today)s
                       AND %(partners)s
                )
                SELECT partner_id, SUM(amount * days) / SUM(amount)
                  FROM lateness
                 GROUP BY partner_id
                HAVING SUM(amount) > 0
                """,
                company=company.id,
                since=today - timedelta(days=RATING_WINDOW_DAYS),
                today=today,
                partners=partners,
            )
        )
        return {partner_id: float(days) for partner_id, days in rows}

    def _query_partners_with_credit_terms(self, company, partner_ids=None):
        """Customers (among ``partner_ids`` if given) with a manual hold or a
        rating override in ``company``, or a profile already: they keep a
        profile even with nothing open."""
        domain = [("id", "in", partner_ids)] if partner_ids is not None else []
        partner_model = self.env["res.partner"].with_company(company)
        held = partner_model.with_context(active_test=False).search(
            domain
            + [
                "|",
                ("credit_hold", "=", True),
                ("credit_rating_override", "!=", False),
            ]
        )
        existing = self.search(
            [("company_id", "=", company.id)]
            + ([("partner_id", "in", partner_ids)] if partner_ids is not None else [])
        ).partner_id
        return (held | existing).commercial_partner_id.ids
