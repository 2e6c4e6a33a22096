from contextlib import contextmanager
from unittest.mock import patch

from odoo import Command, fields
from odoo.tests import new_test_user
from odoo.tools import mute_logger

from odoo.addons.account.tests.common import AccountTestInvoicingCommon

ENGINE_LOGGER = "odoo.addons.sale_reconciliation.models.sale_reconciliation_run_mixin"


@contextmanager
def broken_chunks(run_class, is_broken):
    """The chunks of the runs for which ``is_broken(run)`` is true raise a
    programming error (a division by zero), as a whole; the engine's log of
    it is muted. ``run_class`` is the Python class of the run kind."""
    process_lines = run_class._process_lines

    def process_or_break(run, lines):
        if is_broken(run):
            raise ZeroDivisionError("division by zero in a chunk")
        return process_lines(run, lines)

    with (
        patch.object(run_class, "_process_lines", process_or_break),
        mute_logger(ENGINE_LOGGER),
    ):
        yield


class SaleReconciliationCommon(AccountTestInvoicingCommon):
    """Orders, deliveries, invoices and payments of one customer, built
    through Odoo's own flows (no sale_stock: delivered quantities are
    entered on the order lines, as Odoo does for goods without stock)."""

    @classmethod
    def get_default_groups(cls):
        groups = super().get_default_groups()
        return groups | cls.env.ref("sales_team.group_sale_manager")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer = cls.env["res.partner"].create(
            {"name": "Reconciled Customer Ltd", "is_company": True}
        )
        cls.product_delivered = cls._create_product(
            name="Goods invoiced on delivery",
            type="consu",
            invoice_policy="delivery",
            lst_price=100.0,
            taxes_id=False,
        )
        cls.product_ordered = cls._create_product(
            name="Goods invoiced on order",
            type="consu",
            invoice_policy="order",
            lst_price=50.0,
            taxes_id=False,
        )
        cls.product_service = cls._create_product(
            name="Installation service",
            type="service",
            invoice_policy="order",
            lst_price=200.0,
            taxes_id=False,
        )

    # -------------------------------------------------------------------------
    # Assertions
    # -------------------------------------------------------------------------

    def assertOrderFigures(self, order, state, invoiced, paid, due):
        # Read as they are in this transaction: no scheduled action, flush or
        # refresh first.
        self.assertRecordValues(
            order,
            [
                {
                    "reconciliation_state": state,
                    "reconciliation_amount_invoiced": invoiced,
                    "reconciliation_amount_paid": paid,
                    "reconciliation_amount_due": due,
                }
            ],
        )

    def assertPaymentFigures(self, payment, state, unallocated):
        self.assertRecordValues(
            payment,
            [
                {
                    "reconciliation_state": state,
                    "reconciliation_amount_unallocated": unallocated,
                }
            ],
        )

    # -------------------------------------------------------------------------
    # Helpers
    # -------------------------------------------------------------------------

    @classmethod
    def create_order(cls, lines, partner=None, confirm=True, company=None):
        """``lines``: (product, quantity[, unit price[, discount]]) tuples."""
        company = company or cls.env.company
        order = (
            cls.env["sale.order"]
            .with_company(company)
            .create(
                {
                    "partner_id": (partner or cls.customer).id,
                    "company_id": company.id,
                    "order_line": [
                        Command.create(
                            {
                                "product_id": line[0].id,
                                "product_uom_qty": line[1],
                                **({"price_unit": line[2]} if len(line) > 2 else {}),
                                **({"discount": line[3]} if len(line) > 3 else {}),
                                "tax_id": False,
                            }
                        )
                        for line in lines
                    ],
                }
            )
        )
        if confirm:
            order.action_confirm()
        return order

    @staticmethod
    def deliver(order, quantities):
        """Set the delivered quantity of each order line, in line order."""
        for line, qty in zip(order.order_line, quantities, strict=True):
            line.qty_delivered = qty

    @staticmethod
    def invoice(order, post=True, edit=None):
        """Invoice what the order has to invoice. ``edit`` is called with the
        draft invoice before it is posted, to change it as a user would."""
        invoice = order._create_invoices()
        if edit:
            edit(invoice)
        if post:
            invoice.action_post()
        return invoice

    def pay(self, invoices, amount=None, **wizard_values):
        """Register a payment on ``invoices`` with Odoo's wizard."""
        values = dict(wizard_values)
        if amount is not None:
            values["amount"] = amount
            values.setdefault("payment_difference_handling", "open")
        wizard = (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=invoices.ids)
            .create(values)
        )
        return wizard._create_payments()

    def refund(self, invoice, edit=None, date=None):
        """Post a credit note reversing ``invoice`` (all of it, or what
        ``edit`` leaves of it)."""
        reversal = (
            self.env["account.move.reversal"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create(
                {
                    "reason": "test",
                    "journal_id": invoice.journal_id.id,
                    "date": fields.Date.to_date(date) if date else fields.Date.today(),
                }
            )
        )
        credit_note = self.env["account.move"].browse(reversal.refund_moves()["res_id"])
        if edit:
            edit(credit_note)
        credit_note.action_post()
        return credit_note

    def receive_payment(self, amount, partner=None, company=None):
        """A posted customer payment, not allocated to anything."""
        company = company or self.env.company
        payment = (
            self.env["account.payment"]
            .with_company(company)
            .create(
                {
                    "amount": amount,
                    "payment_type": "inbound",
                    "partner_type": "customer",
                    "partner_id": (partner or self.customer).id,
                    "company_id": company.id,
                }
            )
        )
        payment.action_post()
        return payment

    @staticmethod
    def reconcile(*records):
        """Match the open receivable lines of invoices and payments."""
        lines = records[0].env["account.move.line"]
        for record in records:
            move = record.move_id if record._name == "account.payment" else record
            lines |= move.line_ids.filtered(
                lambda line: line.account_id.account_type == "asset_receivable"
                and not line.reconciled
            )
        lines.reconcile()


class StatementCommon(SaleReconciliationCommon):
    """A customer's ledger over the first months of 2025, built through Odoo's
    own invoicing and payment flows, without taxes so the figures read
    easily."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesperson = new_test_user(
            cls.env,
            login="statement_salesperson",
            groups="sales_team.group_sale_salesman",
            company_id=cls.env.company.id,
        )
        cls.other_manager = new_test_user(
            cls.env,
            login="statement_reviewer",
            groups="account.group_account_manager,sales_team.group_sale_manager",
            company_id=cls.env.company.id,
        )

    @classmethod
    def invoice_at(
        cls, date, amount, partner=None, currency=None, refund=False, due=None
    ):
        """A posted invoice (or credit note) of ``amount``, due on ``due``
        (default: the invoice date)."""
        invoice = cls.init_invoice(
            "out_refund" if refund else "out_invoice",
            partner=partner or cls.customer,
            invoice_date=fields.Date.to_date(date),
            amounts=[amount],
            taxes=[],
            currency=currency,
        )
        invoice.invoice_date_due = fields.Date.to_date(due or date)
        invoice.action_post()
        return invoice

    @classmethod
    def create_invoiced_customers(cls, name, count, email_domain):
        """``count`` companies with an email, each with an invoice of 100.0
        of 3 April 2025."""
        customers = cls.env["res.partner"].create(
            [
                {
                    "name": f"{name} {index}",
                    "is_company": True,
                    "email": f"accounts{index}@{email_domain}",
                }
                for index in range(count)
            ]
        )
        for customer in customers:
            cls.invoice_at("2025-04-03", 100.0, partner=customer)
        return customers

    def make_statement_run(self, partners, operation="send", user=None, **values):
        """A draft statement run of April 2025 for ``partners``, created by
        ``user`` (default: the test's user)."""
        Run = self.env["sale.reconciliation.statement.run"]
        run = (Run.with_user(user) if user else Run).create(
            {
                "date_from": "2025-04-01",
                "date_to": "2025-04-30",
                "customer_scope": "selected",
                "partner_ids": [Command.set(partners.ids)],
                "operation": operation,
                **values,
            }
        )
        return run.with_env(self.env)

    def process_statement_runs(self, max_calls=50):
        """Call the scheduled action as Odoo does while work remains."""
        Run = self.env["sale.reconciliation.statement.run"]
        for _call in range(max_calls):
            if not Run.search_count([("state", "=", "running")]):
                return
            Run._cron_process_runs()
        self.fail(f"statement runs still running after {max_calls} chunks")

    def pay_at(self, invoices, date, amount=None):
        return self.pay(invoices, amount=amount, payment_date=fields.Date.to_date(date))

    def receive_at(self, date, amount, partner=None, currency=None):
        payment = self.env["account.payment"].create(
            {
                "amount": amount,
                "date": fields.Date.to_date(date),
                "payment_type": "inbound",
                "partner_type": "customer",
                "partner_id": (partner or self.customer).id,
                **({"currency_id": currency.id} if currency else {}),
            }
        )
        payment.action_post()
        return payment

    def make_statement(self, date_from, date_to, partner=None, **values):
        return self.env["sale.reconciliation.statement"].create(
            {
                "partner_id": (partner or self.customer).id,
                "date_from": fields.Date.to_date(date_from),
                "date_to": fields.Date.to_date(date_to),
                **values,
            }
        )

    def ledger_balance(self, date_to, partner=None, currency=None):
        """The receivable balance as Odoo's own journal items have it."""
        currency = currency or self.env.company.currency_id
        lines = self.env["account.move.line"].search(
            [
                ("partner_id", "=", (partner or self.customer).id),
                ("account_id.account_type", "=", "asset_receivable"),
                ("parent_state", "=", "posted"),
                ("company_id", "=", self.env.company.id),
                ("currency_id", "=", currency.id),
                ("date", "<=", fields.Date.to_date(date_to)),
            ]
        )
        if currency == self.env.company.currency_id:
            return sum(lines.mapped("balance"))
        return sum(lines.mapped("amount_currency"))
