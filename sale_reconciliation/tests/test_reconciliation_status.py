from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import SQL

from odoo.addons.sale_reconciliation.hooks import (
    PRESET_COLUMNS,
    post_init_hook,
    pre_init_hook,
)

from .common import SaleReconciliationCommon


@tagged("post_install", "-at_install")
class TestOrderReconciliationStatus(SaleReconciliationCommon):
    def test_quotation_then_confirmed_order(self):
        order = self.create_order([(self.product_delivered, 5)], confirm=False)
        self.assertOrderFigures(order, "none", 0.0, 0.0, 0.0)
        order.action_quotation_sent()
        self.assertEqual(order.reconciliation_state, "none")

        order.action_confirm()
        self.assertOrderFigures(order, "open", 0.0, 0.0, 0.0)
        self.assertFalse(order.reconciliation_mismatch_reasons)

        order._action_cancel()
        self.assertEqual(order.reconciliation_state, "none")

    def test_orders_confirmed_together_get_the_figures_of_each_alone(self):
        """Orders confirmed in one batch, some with nothing to invoice (a
        line of no quantity, or of less than its unit's rounding): each gets
        the figures its own analysis gives."""
        whole_units = self.env["uom.uom"].create(
            {
                "name": "Whole units",
                "category_id": self.env.ref("uom.product_uom_categ_unit").id,
                "uom_type": "bigger",
                "factor_inv": 1.0,
                "rounding": 1.0,
            }
        )
        ordered = self.create_order([(self.product_delivered, 5)], confirm=False)
        nothing = self.create_order([(self.product_ordered, 0)], confirm=False)
        fraction = self.create_order([(self.product_ordered, 0.4)], confirm=False)
        fraction.order_line.product_uom = whole_units
        section_only = self.create_order([(self.product_ordered, 3)], confirm=False)
        section_only.order_line.unlink()
        section_only.order_line = [
            Command.create({"display_type": "line_section", "name": "Nothing"})
        ]
        orders = ordered | nothing | fraction | section_only
        orders.action_confirm()
        self.assertEqual(
            orders.mapped("reconciliation_state"),
            ["open", "reconciled", "reconciled", "open"],
        )
        for order in orders:
            self.assertEqual(
                order.reconciliation_state,
                order._get_reconciliation_analysis()["state"],
            )
            self.assertOrderFigures(order, order.reconciliation_state, 0.0, 0.0, 0.0)

    def test_delivered_invoiced_paid_is_reconciled(self):
        order = self.create_order(
            [(self.product_delivered, 5), (self.product_ordered, 2)]
        )
        self.deliver(order, [5, 2])
        self.assertEqual(order.reconciliation_state, "open")

        invoice = self.invoice(order)
        self.assertEqual(invoice.reconciliation_state, "open")
        self.assertOrderFigures(order, "open", 600.0, 0.0, 600.0)

        payment = self.pay(invoice)
        self.assertEqual(invoice.reconciliation_state, "reconciled")
        self.assertPaymentFigures(payment, "matched", 0)
        self.assertOrderFigures(order, "reconciled", 600.0, 600.0, 0.0)

    def test_partial_payment(self):
        order = self.create_order(
            [(self.product_delivered, 5), (self.product_ordered, 2)]
        )
        self.deliver(order, [5, 2])
        invoice = self.invoice(order)

        payment = self.pay(invoice, amount=250.0)
        self.assertEqual(invoice.reconciliation_state, "partial")
        self.assertEqual(payment.reconciliation_state, "matched")
        self.assertOrderFigures(order, "open", 600.0, 250.0, 350.0)

    def test_undelivered_order_stays_open_when_paid(self):
        # Invoiced on ordered quantities and paid, but the goods are still
        # to be delivered: not reconciled, and not a mismatch either.
        order = self.create_order([(self.product_ordered, 4)])
        invoice = self.invoice(order)
        self.pay(invoice)
        self.assertOrderFigures(order, "open", 200.0, 200.0, 0.0)

        self.deliver(order, [4])
        self.assertEqual(order.reconciliation_state, "reconciled")

    def test_mismatch_invoiced_more_than_delivered(self):
        order = self.create_order([(self.product_delivered, 5)])
        self.deliver(order, [3])

        def invoice_five(invoice):
            invoice.invoice_line_ids.quantity = 5

        self.invoice(order, edit=invoice_five)
        self.assertEqual(order.reconciliation_state, "mismatch")
        self.assertIn("invoiced 5", order.reconciliation_mismatch_reasons)
        self.assertIn("only 3", order.reconciliation_mismatch_reasons)
        self.assertIn(
            "Goods invoiced on delivery", order.reconciliation_mismatch_reasons
        )

    def test_mismatch_unit_price(self):
        order = self.create_order([(self.product_ordered, 2)])
        self.deliver(order, [2])

        def lower_price(invoice):
            invoice.invoice_line_ids.price_unit = 45.0

        invoice = self.invoice(order, edit=lower_price)
        self.assertEqual(order.reconciliation_state, "mismatch")
        reasons = order.reconciliation_mismatch_reasons
        self.assertIn("unit price", reasons)
        self.assertIn(invoice.name, reasons)
        self.assertIn("45.00", reasons)
        self.assertIn("50.00", reasons)

    def test_price_within_currency_rounding_is_no_mismatch(self):
        order = self.create_order([(self.product_ordered, 2)])
        self.deliver(order, [2])

        def nudge_price(invoice):
            invoice.invoice_line_ids.price_unit = 50.004

        self.invoice(order, edit=nudge_price)
        self.assertEqual(order.reconciliation_state, "open")

    def test_mismatch_discount(self):
        order = self.create_order([(self.product_ordered, 2, 50.0, 10.0)])
        self.deliver(order, [2])

        def drop_discount(invoice):
            invoice.invoice_line_ids.discount = 0.0

        self.invoice(order, edit=drop_discount)
        self.assertEqual(order.reconciliation_state, "mismatch")
        self.assertIn("discount", order.reconciliation_mismatch_reasons)

    def test_mismatch_overpayment(self):
        order = self.create_order([(self.product_ordered, 2)])
        self.deliver(order, [2])
        invoice = self.invoice(order)

        payment = self.pay(invoice, amount=150.0)
        self.assertEqual(invoice.reconciliation_state, "reconciled")
        self.assertPaymentFigures(payment, "partial", 50.0)
        self.assertOrderFigures(order, "mismatch", 100.0, 150.0, -50.0)
        self.assertIn("Overpayment", order.reconciliation_mismatch_reasons)

        # The excess is used for another order's invoice: no longer this
        # order's overpayment.
        other = self.create_order([(self.product_ordered, 1)])
        other_invoice = self.invoice(other)
        self.reconcile(other_invoice, payment)
        self.assertEqual(payment.reconciliation_state, "matched")
        self.assertOrderFigures(order, "reconciled", 100.0, 100.0, 0.0)
        self.assertOrderFigures(other, "open", 50.0, 50.0, 0.0)

        # Unmatched from the other invoice, the excess is this order's again;
        # the figures are stored, as the list views and reports read them.
        other_invoice.line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
        ).remove_move_reconcile()
        self.env.flush_all()
        self.assertOrderFigures(order, "mismatch", 100.0, 150.0, -50.0)
        self.assertOrderFigures(other, "open", 50.0, 0.0, 50.0)
        self.env.invalidate_all()
        self.assertOrderFigures(order, "mismatch", 100.0, 150.0, -50.0)

    def test_overpayment_partly_used_elsewhere_is_no_longer_the_orders(self):
        # The excess pays part of another order's invoice: that invoice stays
        # open and nothing changes on the first invoice, only on the payment.
        order = self.create_order([(self.product_ordered, 2)])
        invoice = self.invoice(order)
        payment = self.pay(invoice, amount=150.0)
        self.assertOrderFigures(order, "mismatch", 100.0, 150.0, -50.0)
        other = self.create_order([(self.product_ordered, 1, 80.0)])
        other_invoice = self.invoice(other)

        self.reconcile(other_invoice, payment)
        self.env.invalidate_all()
        self.assertPaymentFigures(payment, "matched", 0.0)
        self.assertOrderFigures(order, "open", 100.0, 100.0, 0.0)
        self.assertOrderFigures(other, "open", 80.0, 50.0, 30.0)

        other_receivable = other_invoice.line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
        )
        other_receivable.remove_move_reconcile()
        self.env.invalidate_all()
        self.assertOrderFigures(order, "mismatch", 100.0, 150.0, -50.0)
        self.assertOrderFigures(other, "open", 80.0, 0.0, 80.0)

    def test_mismatch_overpayment_after_credit_note(self):
        order = self.create_order([(self.product_ordered, 2)])
        invoice = self.invoice(order)
        self.pay(invoice)
        # Refunded on paper, but the money was not paid back.
        self.refund(invoice)
        self.assertOrderFigures(order, "mismatch", 0.0, 100.0, -100.0)
        self.assertIn("Overpayment", order.reconciliation_mismatch_reasons)

    def test_mismatch_fully_delivered_and_invoiced_quantities_differ(self):
        order = self.create_order([(self.product_ordered, 10)])
        self.deliver(order, [12])
        invoice = self.invoice(order)
        self.pay(invoice)
        self.assertEqual(order.invoice_status, "upselling")
        self.assertOrderFigures(order, "mismatch", 500.0, 500.0, 0.0)
        self.assertIn(
            "fully delivered and invoiced", order.reconciliation_mismatch_reasons
        )
        self.assertIn("10", order.reconciliation_mismatch_reasons)
        self.assertIn("12", order.reconciliation_mismatch_reasons)

    def test_credit_note_nets_back_to_consistent(self):
        order = self.create_order([(self.product_delivered, 5)])
        self.deliver(order, [5])

        def invoice_six(invoice):
            invoice.invoice_line_ids.quantity = 6

        invoice = self.invoice(order, edit=invoice_six)
        self.assertEqual(order.reconciliation_state, "mismatch")

        def one_unit(credit_note):
            credit_note.invoice_line_ids.quantity = 1

        # Odoo matches the credit note with the invoice it reverses.
        credit_note = self.refund(invoice, edit=one_unit)
        self.assertEqual(credit_note.reconciliation_state, "reconciled")
        self.assertOrderFigures(order, "open", 500.0, 0.0, 500.0)
        self.assertEqual(invoice.reconciliation_state, "partial")
        self.pay(invoice)
        self.assertOrderFigures(order, "reconciled", 500.0, 500.0, 0.0)

    def test_one_payment_for_two_invoices(self):
        order_1 = self.create_order([(self.product_ordered, 2)])
        order_2 = self.create_order([(self.product_service, 1)])
        self.deliver(order_1, [2])
        invoices = self.invoice(order_1) + self.invoice(order_2)

        payment = self.pay(invoices, group_payment=True)
        self.assertEqual(len(payment), 1)
        self.assertEqual(payment.amount, 300.0)
        self.assertEqual(invoices.mapped("reconciliation_state"), ["reconciled"] * 2)
        self.assertEqual(payment.reconciliation_state, "matched")
        self.assertOrderFigures(order_1, "reconciled", 100.0, 100.0, 0.0)
        self.assertOrderFigures(order_2, "reconciled", 200.0, 200.0, 0.0)

    def test_unallocated_payment(self):
        payment = self.receive_payment(300.0)
        self.assertPaymentFigures(payment, "unmatched", 300.0)
        order = self.create_order([(self.product_ordered, 2)])
        invoice = self.invoice(order)
        self.reconcile(invoice, payment)
        self.assertEqual(invoice.reconciliation_state, "reconciled")
        self.assertPaymentFigures(payment, "partial", 200.0)

    def test_draft_and_vendor_documents_have_nothing_to_reconcile(self):
        payment = self.receive_payment(10.0)
        payment.action_draft()
        self.assertEqual(payment.reconciliation_state, "none")
        bill = self.init_invoice(
            "in_invoice", partner=self.customer, amounts=[100.0], post=True
        )
        self.assertEqual(bill.reconciliation_state, "none")
        vendor_payment = self.init_payment(-100.0, post=True, partner=self.customer)
        self.assertEqual(vendor_payment.reconciliation_state, "none")
        draft_invoice = self.init_invoice("out_invoice", amounts=[100.0])
        self.assertEqual(draft_invoice.reconciliation_state, "none")

    def test_cancelled_invoice_moves_status_back(self):
        order = self.create_order([(self.product_ordered, 2)])
        invoice = self.invoice(order)
        self.assertOrderFigures(order, "open", 100.0, 0.0, 100.0)

        invoice.button_draft()
        self.assertEqual(invoice.reconciliation_state, "none")
        invoice.button_cancel()
        self.assertEqual(invoice.reconciliation_state, "none")
        self.assertOrderFigures(order, "open", 0.0, 0.0, 0.0)

    def test_fully_reversed_invoice_is_reconciled(self):
        order = self.create_order([(self.product_ordered, 2)])
        invoice = self.invoice(order)
        credit_note = invoice._reverse_moves(cancel=True)
        self.assertEqual(invoice.payment_state, "reversed")
        self.assertEqual(invoice.reconciliation_state, "reconciled")
        self.assertEqual(credit_note.reconciliation_state, "reconciled")
        self.assertOrderFigures(order, "open", 0.0, 0.0, 0.0)

    def test_figures_read_right_after_each_flow_in_the_same_transaction(self):
        """What another module, a server action or an XML-RPC script reads
        right after each of Odoo's flows, in the same transaction, for a
        batch of orders: the figures those flows made, with no scheduled
        action, flush or commit in between."""
        Queue = self.env["sale.reconciliation.status.refresh"]
        orders = self.create_order(
            [(self.product_ordered, 2)], confirm=False
        ) | self.create_order([(self.product_ordered, 4)], confirm=False)
        orders.action_confirm()
        self.assertEqual(orders.mapped("reconciliation_state"), ["open", "open"])
        for order, quantity in zip(orders, (2, 4), strict=True):
            order.order_line.qty_delivered = quantity
        invoices = orders._create_invoices(grouped=True)
        self.assertEqual(orders.mapped("reconciliation_state"), ["open", "open"])
        invoices.action_post()
        self.assertEqual(
            orders.mapped("reconciliation_amount_invoiced"), [100.0, 200.0]
        )
        self.assertEqual(orders.mapped("reconciliation_amount_due"), [100.0, 200.0])
        first, second = orders
        first_invoice = invoices.filtered(
            lambda move: first in move.line_ids.sale_line_ids.order_id
        )
        second_invoice = invoices - first_invoice
        payment = self.pay(first_invoice)
        self.assertRecordValues(
            first,
            [
                {
                    "reconciliation_state": "reconciled",
                    "reconciliation_amount_paid": 100.0,
                    "reconciliation_amount_due": 0.0,
                }
            ],
        )
        self.assertRecordValues(
            payment,
            [
                {
                    "reconciliation_state": "matched",
                    "reconciliation_amount_unallocated": 0.0,
                }
            ],
        )
        # A payment entered on account, then reconciled by hand.
        on_account = self.env["account.payment"].create(
            {
                "payment_type": "inbound",
                "partner_type": "customer",
                "partner_id": self.customer.id,
                "amount": 200.0,
            }
        )
        on_account.action_post()
        self.assertEqual(on_account.reconciliation_state, "unmatched")
        receivable = (on_account.move_id | second_invoice).line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
        )
        receivable.reconcile()
        self.assertEqual(second.reconciliation_state, "reconciled")
        self.assertEqual(on_account.reconciliation_state, "matched")
        # Unreconciled: both back at once.
        receivable.remove_move_reconcile()
        self.assertOrderFigures(second, "open", 200.0, 0.0, 200.0)
        self.assertPaymentFigures(on_account, "unmatched", 200.0)
        # A credit note, then the invoice reset to draft and cancelled.
        credit_note = first_invoice._reverse_moves()
        credit_note.action_post()
        self.assertEqual(first.reconciliation_amount_invoiced, 0.0)
        self.assertEqual(first.reconciliation_state, "mismatch")
        second_invoice.button_draft()
        self.assertOrderFigures(second, "open", 0.0, 0.0, 0.0)
        second_invoice.button_cancel()
        self.assertOrderFigures(second, "open", 0.0, 0.0, 0.0)
        # The order cancelled: nothing to reconcile any more.
        second._action_cancel()
        self.assertOrderFigures(second, "none", 0.0, 0.0, 0.0)
        # Nothing was left for a scheduled action to do.
        self.env.cr.precommit.run()
        self.assertFalse(Queue.search([]))

    def test_nobody_writes_the_figures(self):
        order = self.create_order([(self.product_ordered, 2)])
        self.deliver(order, [2])
        payment = self.pay(self.invoice(order), amount=50.0)
        salesperson = new_test_user(
            self.env,
            login="figures_salesperson",
            groups="sales_team.group_sale_salesman_all_leads",
        )
        accountant = new_test_user(
            self.env,
            login="figures_accountant",
            groups="account.group_account_invoice,sales_team.group_sale_salesman",
        )
        with self.assertRaisesRegex(UserError, "cannot be written"):
            order.with_user(salesperson).write(
                {
                    "reconciliation_state": "reconciled",
                    "reconciliation_amount_paid": 100,
                }
            )
        with self.assertRaisesRegex(UserError, "cannot be written"):
            payment.with_user(accountant).write({"reconciliation_state": "matched"})
        self.assertOrderFigures(order, "open", 100.0, 50.0, 50.0)
        self.assertPaymentFigures(payment, "matched", 0.0)

    def test_order_line_added_to_a_draft_invoice(self):
        order = self.create_order([(self.product_ordered, 2)])
        self.deliver(order, [2])
        self.pay(self.invoice(order))
        self.assertOrderFigures(order, "reconciled", 100.0, 100.0, 0.0)
        # More sold, added to another draft invoice of the customer: the
        # order waits for it.
        order.order_line.product_uom_qty = 3
        draft = self.env["account.move"].create(
            {"move_type": "out_invoice", "partner_id": order.partner_id.id}
        )
        draft.write(
            {
                "invoice_line_ids": [
                    Command.create(order.order_line._prepare_invoice_line(quantity=1))
                ]
            }
        )
        self.assertEqual(draft.invoice_line_ids.sale_line_ids, order.order_line)
        self.assertOrderFigures(order, "open", 100.0, 100.0, 0.0)

    def test_automated_action_on_the_status_runs_in_the_transaction(self):
        """An automated action on the reconciliation status fires in the
        transaction of the flow that changed it, as the user who ran it."""
        self.env["base.automation"].create(
            {
                "name": "Reconciled orders are tagged",
                "model_id": self.env.ref("sale.model_sale_order").id,
                "trigger": "on_create_or_write",
                "trigger_field_ids": [
                    Command.set(
                        self.env["ir.model.fields"]
                        ._get("sale.order", "reconciliation_state")
                        .ids
                    )
                ],
                "filter_domain": "[('reconciliation_state', '=', 'reconciled')]",
                "action_server_ids": [
                    Command.create(
                        {
                            "name": "Note who reconciled",
                            "model_id": self.env.ref("sale.model_sale_order").id,
                            "state": "code",
                            "code": "record.message_post("
                            "body='Reconciled by %s' % env.user.login)",
                        }
                    )
                ],
            }
        )
        accountant = new_test_user(
            self.env,
            login="automation_accountant",
            groups="account.group_account_invoice,sales_team.group_sale_salesman_all_leads",
        )
        order = self.create_order([(self.product_ordered, 2)])
        self.deliver(order, [2])
        invoice = self.invoice(order)
        self.assertNotIn("Reconciled by", " ".join(order.message_ids.mapped("body")))
        wizard = (
            self.env["account.payment.register"]
            .with_user(accountant)
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create({})
        )
        wizard._create_payments()
        # Read by the accountant, as the form reloaded after the button
        # does: the action ran as them, in this transaction.
        self.assertEqual(order.with_user(accountant).reconciliation_state, "reconciled")
        self.assertIn(
            "Reconciled by automation_accountant",
            " ".join(order.message_ids.mapped("body")),
        )

    def test_product_invoiced_on_delivery_now_changes_its_orders(self):
        order = self.create_order([(self.product_ordered, 2)])
        self.pay(self.invoice(order))
        self.assertOrderFigures(order, "open", 100.0, 100.0, 0.0)

        # Invoiced on delivery from now on: two invoiced, none delivered.
        self.product_ordered.invoice_policy = "delivery"
        self.assertOrderFigures(order, "mismatch", 100.0, 100.0, 0.0)

    def test_unreconciled_payment_moves_status_back(self):
        order = self.create_order([(self.product_ordered, 2)])
        self.deliver(order, [2])
        invoice = self.invoice(order)
        payment = self.pay(invoice)
        self.assertEqual(order.reconciliation_state, "reconciled")

        invoice.line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
        ).remove_move_reconcile()
        self.assertEqual(invoice.reconciliation_state, "open")
        self.assertPaymentFigures(payment, "unmatched", 100.0)
        self.assertOrderFigures(order, "open", 100.0, 0.0, 100.0)

    def test_search_and_group_by_status(self):
        self.create_order([(self.product_ordered, 1)])  # stays open
        mismatch_order = self.create_order([(self.product_ordered, 1)])
        self.deliver(mismatch_order, [1])
        self.invoice(
            mismatch_order,
            edit=lambda inv: inv.invoice_line_ids.write({"price_unit": 1.0}),
        )
        SaleOrder = self.env["sale.order"]
        domain = [("partner_id", "=", self.customer.id)]
        self.assertEqual(
            SaleOrder.search(domain + [("reconciliation_state", "=", "mismatch")]),
            mismatch_order,
        )
        groups = dict(
            SaleOrder._read_group(domain, ["reconciliation_state"], ["__count"])
        )
        self.assertEqual(groups, {"open": 1, "mismatch": 1})


@tagged("post_install", "-at_install")
class TestMultiCompanyReconciliationStatus(SaleReconciliationCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_data_2 = cls.setup_other_company()
        cls.company_2 = cls.company_data_2["company"]
        cls.env.user.company_ids |= cls.company_2

    def test_other_company_documents_are_not_counted(self):
        order = self.create_order([(self.product_ordered, 2)])
        invoice = self.invoice(order)

        # The same customer pays the other company, and has an order there.
        other_payment = self.receive_payment(100.0, company=self.company_2)
        other_order = self.create_order(
            [(self.product_ordered, 3)], company=self.company_2
        )
        self.assertEqual(other_payment.reconciliation_state, "unmatched")
        self.assertEqual(invoice.reconciliation_state, "open")
        self.assertRecordValues(
            order,
            [{"reconciliation_state": "open", "reconciliation_amount_paid": 0.0}],
        )

        orders_company_1 = (
            self.env["sale.order"]
            .with_context(allowed_company_ids=self.env.company.ids)
            .search(
                [
                    ("partner_id", "=", self.customer.id),
                    ("reconciliation_state", "=", "open"),
                ]
            )
        )
        self.assertEqual(orders_company_1, order)
        self.assertNotIn(other_order, orders_company_1)


@tagged("post_install", "-at_install")
class TestInstallHooks(SaleReconciliationCommon):
    def test_hooks_fill_existing_documents(self):
        """What the install hooks write equals what the ORM computes."""
        paid_order = self.create_order([(self.product_ordered, 2)])
        self.deliver(paid_order, [2])
        paid_invoice = self.invoice(paid_order)
        payment = self.pay(paid_invoice, amount=60.0)
        open_payment = self.receive_payment(40.0)
        quotation = self.create_order([(self.product_ordered, 1)], confirm=False)
        self.env.flush_all()

        # As if the module were not installed yet: the columns do not exist.
        for table, columns in PRESET_COLUMNS.items():
            for column, _type, _value in columns:
                self.env.cr.execute(
                    SQL(
                        "ALTER TABLE %s DROP COLUMN %s",
                        SQL.identifier(table),
                        SQL.identifier(column),
                    )
                )
        self.env.invalidate_all()

        pre_init_hook(self.env)
        post_init_hook(self.env)
        self.env.invalidate_all()

        self.assertEqual(paid_invoice.reconciliation_state, "partial")
        self.assertPaymentFigures(payment, "matched", 0.0)
        self.assertPaymentFigures(open_payment, "unmatched", 40.0)
        self.assertOrderFigures(paid_order, "open", 100.0, 60.0, 40.0)
        self.assertEqual(quotation.reconciliation_state, "none")
