from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged

from .common import StatementCommon


@tagged("post_install", "-at_install")
class TestCreditControl(StatementCommon):
    """Exposure, holds, ratings and the credit approval path, on a customer
    with a limit of 1,000 in a company using credit limits."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.company.write(
            {
                "account_use_credit_limit": True,
                "credit_rating_a_days": 5,
                "credit_rating_b_days": 15,
                "credit_rating_c_days": 45,
            }
        )
        cls.customer.credit_limit = 1000.0
        cls.customer.user_id = cls.salesperson
        cls.today = fields.Date.today()
        cls.credit_manager = new_test_user(
            cls.env,
            login="credit_manager",
            groups="sales_team.group_sale_salesman_all_leads,"
            "sale_reconciliation.group_credit_manager",
            company_id=cls.company.id,
        )
        cls.Approval = cls.env["sale.reconciliation.credit.approval"]
        cls.Profile = cls.env["sale.reconciliation.credit.profile"]

    def days_ago(self, days):
        return self.today - timedelta(days=days)

    def figures(self, partner=None, company=None):
        company = company or self.company
        partner = partner or self.customer
        return self.Profile._get_credit_figures(company, [partner.id])[partner.id]

    def quotation(self, amount, partner=None):
        return self.create_order(
            [(self.product_service, 1, amount)], partner=partner, confirm=False
        )

    def commit_refresh(self):
        """What the commit does (flush, then queue the customers whose
        documents changed), then the scheduled action the commit wakes."""
        self.env.flush_all()
        self.env.cr.precommit.run()
        self.Profile._cron_refresh_queued()

    def assert_refused_undone(self, call, text):
        """``call()`` is refused with ``text``, caught here without a
        savepoint of ours, as a caller catching it would: what it wrote is
        undone by the refusal itself. Returns the message."""
        try:
            call()
        except UserError as refusal:
            self.assertIn(text, str(refusal))
            return str(refusal)
        self.fail("credit control let the order through")

    def queued_customers(self):
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT partner_id FROM sale_reconciliation_credit_refresh "
            "WHERE company_id = %s",
            [self.company.id],
        )
        return {partner_id for (partner_id,) in self.env.cr.fetchall()}

    def queued_at_commit(self):
        """The customers queued once the commit's pre-commit hooks ran."""
        self.env.flush_all()
        self.env.cr.precommit.run()
        return self.queued_customers()

    def refreshed_profiles(self, partners, fname):
        """Run the scheduled refresh of the queued customers, then read
        ``fname`` of the profiles of ``partners``: {partner: value}."""
        self.Profile._cron_refresh_queued()
        profiles = self.Profile.search(
            [("company_id", "=", self.company.id), ("partner_id", "in", partners.ids)]
        )
        return {profile.partner_id: profile[fname] for profile in profiles}

    def test_confirmed_order_queues_its_customer_and_wakes_the_refresh(self):
        cron = self.env.ref(
            "sale_reconciliation.ir_cron_refresh_queued_credit_profiles"
        )
        contact = self.env["res.partner"].create(
            {"name": "Buyer", "parent_id": self.customer.id}
        )
        order = self.quotation(100.0, partner=contact)
        self.env.flush_all()
        self.env.cr.precommit.run()
        self.env.cr.execute(
            "DELETE FROM sale_reconciliation_credit_refresh; "
            "DELETE FROM ir_cron_trigger WHERE cron_id = %s",
            [cron.id],
        )

        order.with_user(self.salesperson).action_confirm()
        self.env.flush_all()
        self.env.cr.precommit.run()
        self.assertEqual(self.queued_customers(), {self.customer.id})
        triggers = self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)])
        self.assertEqual(len(triggers), 1)
        self.assertLessEqual(triggers.call_at, fields.Datetime.now())

        # A scheduled action switched off is not woken; the customer is
        # queued all the same.
        cron.active = False
        self.env.cr.execute("DELETE FROM sale_reconciliation_credit_refresh")
        order.with_user(self.salesperson)._action_cancel()
        self.env.flush_all()
        self.env.cr.precommit.run()
        self.assertEqual(self.queued_customers(), {self.customer.id})
        self.assertEqual(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]), 1
        )

    def test_entries_queue_their_customers_as_at_the_commit(self):
        other = self.env["res.partner"].create(
            {"name": "Other Customer", "is_company": True}
        )

        def queued_at_commit():
            queued = self.queued_at_commit()
            self.env.cr.execute("DELETE FROM sale_reconciliation_credit_refresh")
            return queued

        queued_at_commit()
        invoice = self.invoice_at(self.today, 100.0)
        self.assertEqual(queued_at_commit(), {self.customer.id})
        # An invoice moved to another customer: the one it leaves and the
        # one it goes to.
        invoice.button_draft()
        invoice.partner_id = other
        invoice.action_post()
        self.assertEqual(queued_at_commit(), {self.customer.id, other.id})
        # Its payment: the customer, through the matching too.
        self.pay_at(invoice, self.today, amount=40.0)
        self.assertEqual(queued_at_commit(), {other.id})
        # A payment received on account, then reset and deleted in one
        # transaction: its customer both times.
        payment = self.receive_at(self.today, 30.0)
        self.assertEqual(queued_at_commit(), {self.customer.id})
        payment.action_draft()
        payment.unlink()
        self.assertEqual(queued_at_commit(), {self.customer.id})
        # A vendor bill says nothing of a customer's credit.
        bill = self.init_invoice(
            "in_invoice",
            partner=self.customer,
            invoice_date=self.today,
            amounts=[50.0],
            taxes=[],
        )
        bill.action_post()
        self.assertEqual(queued_at_commit(), set())
        # An invoice made and undone in a savepoint queues nobody.
        with self.assertRaises(UserError), self.env.cr.savepoint():
            self.invoice_at(self.today, 70.0, partner=other)
            raise UserError(self.env._("undone"))
        self.assertEqual(queued_at_commit(), set())

    def test_entry_moving_a_receivable_queues_both_customers(self):
        """A journal entry with no customer of its own that moves 100 of
        receivable from one customer to another changes both customers'
        credit figures: both are queued when it is posted; so are the
        customers its items leave when they are edited, posted or reset to
        draft."""
        other = self.env["res.partner"].create(
            {"name": "Other Customer", "is_company": True}
        )
        contact = self.env["res.partner"].create(
            {"name": "Other's Buyer", "parent_id": other.id}
        )
        self.invoice_at(self.today, 100.0)
        receivable = self.company_data["default_account_receivable"]
        entry = self.env["account.move"].create(
            {
                "move_type": "entry",
                "journal_id": self.company_data["default_journal_misc"].id,
                "date": self.today,
                "line_ids": [
                    Command.create(
                        {
                            "account_id": receivable.id,
                            "partner_id": self.customer.id,
                            "credit": 100.0,
                        }
                    ),
                    Command.create(
                        {
                            "account_id": receivable.id,
                            "partner_id": contact.id,
                            "debit": 100.0,
                        }
                    ),
                ],
            }
        )
        self.assertFalse(entry.commercial_partner_id)
        self.queued_at_commit()
        self.env.cr.execute("DELETE FROM sale_reconciliation_credit_refresh")

        entry.action_post()
        both = self.customer | other
        self.assertEqual(self.queued_at_commit(), set(both.ids))
        self.assertEqual(
            self.refreshed_profiles(both, "receivable_amount"),
            {self.customer: 0.0, other: 100.0},
        )

        # Its item of the other customer moved to a revenue account, posted:
        # the customer it leaves.
        other_item = entry.line_ids.filtered(lambda line: line.partner_id == contact)
        other_item.account_id = self.company_data["default_account_revenue"]
        self.assertEqual(self.queued_at_commit(), {other.id})
        self.assertEqual(
            self.refreshed_profiles(other, "receivable_amount"), {other: 0.0}
        )

        # Reset to draft, its item given a third customer, posted again, in
        # one transaction: the customer it had, and the one it has.
        third = self.env["res.partner"].create(
            {"name": "Third Customer", "is_company": True}
        )
        entry.button_draft()
        customer_item = entry.line_ids.filtered(
            lambda line: line.partner_id == self.customer
        )
        customer_item.partner_id = third
        entry.action_post()
        self.assertEqual(self.queued_at_commit(), {self.customer.id, third.id})
        self.assertEqual(
            self.refreshed_profiles(self.customer | third, "receivable_amount"),
            {self.customer: 100.0, third: -100.0},
        )

    def test_posted_items_edited_queue_their_customers(self):
        """A posted receivable item given another due date queues its
        customer; given another customer, both the one it leaves and the one
        it goes to."""
        other = self.env["res.partner"].create(
            {"name": "Other Customer", "is_company": True}
        )
        invoice = self.invoice_at(self.days_ago(40), 100.0)
        item = invoice.line_ids.filtered(
            lambda line: line.account_type == "asset_receivable"
        )
        self.commit_refresh()
        self.assertEqual(
            self.refreshed_profiles(self.customer, "credit_overdue_amount"),
            {self.customer: 100.0},
        )

        item.date_maturity = self.today + timedelta(days=10)
        self.assertEqual(self.queued_at_commit(), {self.customer.id})
        self.assertEqual(
            self.refreshed_profiles(self.customer, "credit_overdue_amount"),
            {self.customer: 0.0},
        )

        item.partner_id = other
        both = self.customer | other
        self.assertEqual(self.queued_at_commit(), set(both.ids))
        self.assertEqual(
            self.refreshed_profiles(both, "receivable_amount"),
            {self.customer: 0.0, other: 100.0},
        )

    # -------------------------------------------------------------------------
    # Exposure
    # -------------------------------------------------------------------------

    def test_exposure_is_the_sum_of_its_parts(self):
        eur = self.setup_other_currency("EUR")  # 2 EUR for 1 USD today
        invoice = self.invoice_at(self.today, 1000.0)
        self.pay_at(invoice, self.today, amount=300.0)
        self.invoice_at(self.today, 400.0, currency=eur)  # 200 USD
        self.receive_at(self.today, 50.0)  # on account
        self.create_order([(self.product_service, 1, 500.0)])  # to invoice: 500
        partly = self.create_order([(self.product_ordered, 4, 50.0)])  # 200
        self.invoice(partly)  # fully invoiced: nothing left to invoice
        order_eur = self.create_order([(self.product_service, 1, 100.0)], confirm=False)
        order_eur.write({"pricelist_id": self._eur_pricelist(eur).id})
        order_eur.action_confirm()  # 100 EUR to invoice: 50 USD
        # drafts not from an order: 80 - 30
        self.init_invoice(
            "out_invoice", partner=self.customer, amounts=[80.0], taxes=[]
        )
        self.init_invoice("out_refund", partner=self.customer, amounts=[30.0], taxes=[])
        from_order = self.create_order([(self.product_service, 1, 70.0)])
        self.invoice(from_order, post=False)  # counted once, with the order

        figures = self.figures()
        # 700 still due + 200 (EUR invoice) + 200 (the invoiced order) - 50
        self.assertAlmostEqual(figures["receivable_amount"], 1050.0)
        self.assertAlmostEqual(figures["order_amount"], 500.0 + 50.0 + 70.0)
        self.assertAlmostEqual(figures["draft_invoice_amount"], 50.0)
        self.assertAlmostEqual(figures["credit_exposure"], 1050.0 + 620.0 + 50.0)
        self.assertAlmostEqual(figures["credit_available"], 1000.0 - 1720.0)
        self.assertTrue(figures["over_limit"])
        self.assertEqual(self.customer.credit_exposure, 1720.0)
        self.assertEqual(self.customer.credit_available, -720.0)

    def _eur_pricelist(self, eur):
        return self.env["product.pricelist"].create(
            {"name": "EUR", "currency_id": eur.id}
        )

    def test_exposure_per_company(self):
        company_2 = self.setup_other_company()["company"]
        self.invoice_at(self.today, 300.0)
        self.env["account.move"].with_company(company_2).create(
            {
                "move_type": "out_invoice",
                "partner_id": self.customer.id,
                "company_id": company_2.id,
                "invoice_date": self.today,
                "invoice_line_ids": [
                    Command.create(
                        {"name": "Service", "price_unit": 900.0, "tax_ids": []}
                    )
                ],
            }
        ).action_post()
        self.assertEqual(self.figures()["credit_exposure"], 300.0)
        self.assertEqual(self.figures(company=company_2)["credit_exposure"], 900.0)
        self.assertEqual(self.customer.with_company(company_2).credit_exposure, 900.0)

    def test_profiles_follow_the_documents(self):
        invoice = self.invoice_at(self.today, 600.0)
        self.commit_refresh()
        profile = self.Profile.search([("partner_id", "=", self.customer.id)])
        self.assertEqual(profile.credit_exposure, 600.0)
        self.assertIn(
            self.customer,
            self.env["res.partner"].search([("credit_exposure", ">", 500.0)]),
        )
        self.pay_at(invoice, self.today)
        self.commit_refresh()
        self.assertEqual(profile.credit_exposure, 0.0)
        self.assertEqual(profile.credit_available, 1000.0)
        self.assertNotIn(
            self.customer,
            self.env["res.partner"].search([("credit_exposure", ">", 500.0)]),
        )
        self.create_order([(self.product_service, 1, 1200.0)])
        self.commit_refresh()
        self.assertRecordValues(
            profile,
            [{"order_amount": 1200.0, "credit_exposure": 1200.0, "over_limit": True}],
        )
        self.assertEqual(self.Profile.search([("over_limit", "=", True)]), profile)

    # -------------------------------------------------------------------------
    # Warn or block
    # -------------------------------------------------------------------------

    def test_warn_policy_confirms_with_the_figures_in_the_banner(self):
        self.invoice_at(self.today, 800.0)
        order = self.quotation(300.0)
        self.assertIn("has reached its credit limit", order.partner_credit_warning)
        self.assertIn("exposure $\xa0800.00", order.credit_check_message)
        self.assertIn("excess $\xa0100.00", order.credit_check_message)
        self.assertFalse(order.credit_check_blocked)
        order.action_confirm()
        self.assertEqual(order.state, "sale")

    def test_block_policy_refuses_with_the_figures(self):
        self.company.credit_policy = "block"
        self.invoice_at(self.today, 800.0)
        order = self.quotation(300.0)
        self.assertTrue(order.credit_check_blocked)
        with self.assertRaises(UserError) as refusal:
            order.action_confirm()
        message = str(refusal.exception)
        for figure in (
            "limit $\xa01,000.00",
            "exposure $\xa0800.00",
            "this order $\xa0300.00",
            "excess $\xa0100.00",
        ):
            self.assertIn(figure, message)
        self.assertEqual(order.state, "draft")
        within_limit = self.quotation(200.0)
        within_limit.action_confirm()
        self.assertEqual(within_limit.state, "sale")

    def test_block_refuses_a_cancelled_order_written_back_to_sale(self):
        """As a salesperson through the API: a cancelled quotation written
        straight to 'sale' is checked like a confirmation."""
        self.company.credit_policy = "block"
        self.invoice_at(self.today, 800.0)
        order = self.quotation(300.0).with_user(self.salesperson)
        order._action_cancel()
        self.assertEqual(order.state, "cancel")
        with self.assertRaises(UserError) as refusal:
            order.write({"state": "sale"})
        self.assertIn("excess $\xa0100.00", str(refusal.exception))
        self.assertEqual(order.state, "cancel")

    def test_block_checks_the_new_lines_of_the_confirming_write(self):
        """As a salesperson through the API: lines added by the write that
        confirms count, not the quotation as it was."""
        self.company.credit_policy = "block"
        order = self.quotation(100.0).with_user(self.salesperson)
        big_line = Command.create(
            {
                "product_id": self.product_service.id,
                "product_uom_qty": 1,
                "price_unit": 1200.0,
                "tax_id": False,
            }
        )
        message = self.assert_refused_undone(
            lambda: order.write({"state": "sale", "order_line": [big_line]}),
            "excess $\xa0300.00",
        )
        self.assertIn("exposure $\xa00.00", message)
        self.assertIn("this order $\xa01,300.00", message)
        self.assertEqual(order.state, "draft")
        self.assertEqual(order.amount_total, 100.0)
        self.assertEqual(len(order.order_line), 1)
        # Within the limit: confirmed, its exposure counted once.
        order.write(
            {
                "state": "sale",
                "order_line": [
                    Command.update(order.order_line.id, {"price_unit": 900.0})
                ],
            }
        )
        self.assertEqual(order.state, "sale")
        self.assertEqual(self.figures()["credit_exposure"], 900.0)

    def test_block_checks_the_new_customer_of_the_confirming_write(self):
        """As a salesperson through the API: a quotation of a customer in
        good standing, confirmed for a customer on hold in the same write."""
        self.company.credit_policy = "block"
        held = self.env["res.partner"].create(
            {
                "name": "Held Customer",
                "user_id": self.salesperson.id,
                "credit_hold": True,
                "credit_hold_reason": "Bounced cheque",
            }
        )
        order = self.quotation(10.0).with_user(self.salesperson)
        self.assert_refused_undone(
            lambda: order.write({"state": "sale", "partner_id": held.id}),
            "Bounced cheque",
        )
        self.assertEqual(order.state, "draft")
        self.assertEqual(order.partner_id, self.customer)
        # Within the customer's credit: confirmed, the new customer following.
        good = self.env["res.partner"].create(
            {"name": "Good Customer", "user_id": self.salesperson.id}
        )
        order.write({"state": "sale", "partner_id": good.id})
        self.assertEqual(order.state, "sale")
        self.assertIn(good, order.message_partner_ids)

    def test_block_checks_orders_created_confirmed(self):
        """As a salesperson through the API: an order created in the state
        'sale', by its values or by default_state in the context, is checked
        as a confirmation, and nothing is created when refused."""
        self.company.credit_policy = "block"
        self.invoice_at(self.today, 800.0)
        Order = self.env["sale.order"].with_user(self.salesperson)

        def values(amount, **extra):
            return {
                "partner_id": self.customer.id,
                "order_line": [
                    Command.create(
                        {
                            "product_id": self.product_service.id,
                            "product_uom_qty": 1,
                            "price_unit": amount,
                            "tax_id": False,
                        }
                    )
                ],
                **extra,
            }

        domain = [("partner_id", "=", self.customer.id)]
        count = Order.search_count(domain)
        for order_model, vals in (
            (Order, values(300.0, state="sale")),
            (Order.with_context(default_state="sale"), values(300.0)),
        ):
            self.assert_refused_undone(
                lambda order_model=order_model, vals=vals: order_model.create(vals),
                "excess $\xa0100.00",
            )
            self.assertEqual(Order.search_count(domain), count)
        # A default of the user's own (ir.default, which any user may set).
        self.env["ir.default"].with_user(self.salesperson).set(
            "sale.order", "state", "sale", user_id=True
        )
        self.assert_refused_undone(
            lambda: Order.create(values(300.0)), "excess $\xa0100.00"
        )
        self.assertEqual(Order.search_count(domain), count)
        self.env["ir.default"].with_user(self.salesperson).set(
            "sale.order", "state", False, user_id=True
        )
        # Two created confirmed together add up, as two confirmed together.
        with self.assertRaises(UserError):
            Order.create([values(150.0, state="sale"), values(150.0, state="sale")])
        self.assertEqual(Order.search_count(domain), count)
        self.env.flush_all()
        self.env.cr.precommit.run()
        self.env.cr.execute("DELETE FROM sale_reconciliation_credit_refresh")
        within = Order.create(values(150.0, state="sale"))
        self.assertEqual(within.state, "sale")
        self.assertEqual(within.reconciliation_state, "open")
        # Its customer is queued for the refresh of the stored credit figures.
        self.env.flush_all()
        self.env.cr.precommit.run()
        self.assertEqual(self.queued_customers(), {self.customer.id})

    def test_block_counts_orders_confirmed_together(self):
        self.company.credit_policy = "block"
        first, second = self.quotation(600.0), self.quotation(600.0)
        with self.assertRaises(UserError):
            (first | second).action_confirm()
        self.assertEqual((first | second).mapped("state"), ["draft", "draft"])

    def test_block_uses_the_order_company_and_currency(self):
        self.company.credit_policy = "block"
        eur = self.setup_other_currency("EUR")
        order = self.quotation(1800.0)
        order.pricelist_id = self._eur_pricelist(eur)
        order.order_line.price_unit = 1800.0  # 900 USD: within the limit
        order.action_confirm()
        self.assertEqual(order.state, "sale")
        company_2 = self.setup_other_company()["company"]
        company_2.write({"credit_policy": "block", "account_use_credit_limit": True})
        self.customer.with_company(company_2).credit_limit = 100.0
        order_2 = self.create_order(
            [(self.product_service, 1, 500.0)], confirm=False, company=company_2
        )
        with self.assertRaises(UserError):
            order_2.with_company(company_2).action_confirm()

    def test_manual_hold_blocks_with_its_reason(self):
        self.company.credit_policy = "block"
        self.customer.write(
            {"credit_hold": True, "credit_hold_reason": "Disputed debt"}
        )
        order = self.quotation(10.0)
        with self.assertRaises(UserError) as refusal:
            order.action_confirm()
        self.assertIn("Disputed debt", str(refusal.exception))
        self.customer.credit_hold = False
        order.action_confirm()
        self.assertEqual(order.state, "sale")

    def test_overdue_hold_by_days_and_amount(self):
        self.company.write(
            {
                "credit_policy": "block",
                "credit_overdue_hold": True,
                "credit_overdue_days": 30,
                "credit_overdue_amount": 100.0,
            }
        )
        late = self.invoice_at(self.days_ago(60), 150.0, due=self.days_ago(40))
        self.pay_at(late, self.today, amount=100.0)  # 50 left, 40 days late
        self.invoice_at(self.days_ago(20), 500.0, due=self.days_ago(10))  # 10 days late
        figures = self.figures()
        self.assertEqual(figures["credit_overdue_amount"], 550.0)
        self.assertEqual(figures["credit_overdue_oldest_days"], 40)
        self.assertEqual(figures["overdue_hold_amount"], 50.0)
        self.assertFalse(figures["overdue_hold"], "50 is below the 100 minimum")
        self.quotation(10.0).action_confirm()

        self.company.credit_overdue_amount = 50.0
        self.assertTrue(self.figures()["overdue_hold"])
        order = self.quotation(10.0)
        with self.assertRaises(UserError) as refusal:
            order.action_confirm()
        self.assertIn("overdue hold", str(refusal.exception))

        self.company.credit_overdue_days = 45
        self.assertFalse(self.figures()["overdue_hold"], "40 days is within 45")
        order.action_confirm()
        self.assertEqual(order.state, "sale")

    def test_unapplied_payment_lifts_the_overdue_hold(self):
        """A payment not yet matched settles the oldest invoices first, even
        when the customer has invoices not yet due."""
        self.company.write(
            {
                "credit_policy": "block",
                "credit_overdue_hold": True,
                "credit_overdue_days": 30,
                "credit_overdue_amount": 100.0,
            }
        )
        self.invoice_at(self.days_ago(60), 150.0, due=self.days_ago(40))
        self.invoice_at(self.today, 500.0, due=self.days_ago(-30))  # not due
        self.assertTrue(self.figures()["overdue_hold"])
        self.receive_at(self.today, 150.0)  # on account, not matched
        figures = self.figures()
        self.assertEqual(figures["credit_overdue_amount"], 0.0)
        self.assertEqual(figures["credit_overdue_oldest_days"], 0)
        self.assertEqual(figures["overdue_hold_amount"], 0.0)
        self.assertFalse(figures["overdue_hold"])
        order = self.quotation(10.0)
        order.action_confirm()
        self.assertEqual(order.state, "sale")

    # -------------------------------------------------------------------------
    # Rating
    # -------------------------------------------------------------------------

    def test_rating_thresholds_and_override(self):
        self.assertFalse(self.customer.credit_rating, "no history, not rated")
        on_time = self.invoice_at(self.days_ago(30), 300.0, due=self.days_ago(10))
        self.pay_at(on_time, self.days_ago(12))
        self.assertEqual(self.customer.credit_rating, "a")
        # 100 paid 20 days late: (300 * 0 + 100 * 20) / 400 = 5 days: still A
        late = self.invoice_at(self.days_ago(40), 100.0, due=self.days_ago(30))
        self.pay_at(late, self.days_ago(10))
        self.customer.invalidate_recordset()
        self.assertAlmostEqual(self.customer.credit_average_days_late, 5.0)
        self.assertEqual(self.customer.credit_rating, "a")
        self.company.credit_rating_a_days = 4
        self.customer.invalidate_recordset()
        self.assertEqual(self.customer.credit_rating, "b")
        # unpaid, 100 days late: (2000 + 200 * 100) / 600 = 36.7 days: Watch
        self.invoice_at(self.days_ago(110), 200.0, due=self.days_ago(100))
        self.customer.invalidate_recordset()
        self.assertEqual(self.customer.credit_rating, "c")
        self.company.credit_rating_c_days = 30
        self.customer.invalidate_recordset()
        self.assertEqual(self.customer.credit_rating, "d")

        self.customer.credit_rating_override = "b"
        self.assertEqual(self.customer.credit_rating, "b")
        self.assertEqual(self.customer.credit_rating_computed, "d")
        self.commit_refresh()
        self.assertEqual(
            self.env["res.partner"].search(
                [("credit_rating", "=", "b"), ("id", "=", self.customer.id)]
            ),
            self.customer,
        )

    def test_rating_thresholds_must_increase(self):
        with self.assertRaises(ValidationError):
            self.company.credit_rating_b_days = 60

    def test_credit_changes_are_logged(self):
        self.customer.write(
            {
                "credit_limit": 2500.0,
                "credit_hold": True,
                "credit_hold_reason": "Bankruptcy rumours",
            }
        )
        body = self.customer.message_ids[0].body
        self.assertIn("1,000.00", body)
        self.assertIn("2,500.00", body)
        self.assertIn("Bankruptcy rumours", body)
        self.assertIn(self.company.name, body)

    # -------------------------------------------------------------------------
    # Approval path
    # -------------------------------------------------------------------------

    def request(self, order, reason="Long-standing customer"):
        return self.Approval.with_user(self.salesperson).create(
            {"order_id": order.id, "reason": reason}
        )

    def test_salesperson_cannot_approve_through_context_defaults(self):
        """default_state=approved in the context of create() is a decision:
        refused to a salesperson, and the order stays blocked."""
        self.company.credit_policy = "block"
        self.invoice_at(self.today, 800.0)
        order = self.quotation(300.0)
        Approval = self.Approval.with_user(self.salesperson)
        for key, value in (
            ("default_state", "approved"),
            ("default_decided_by_id", self.credit_manager.id),
        ):
            with self.subTest(key=key), self.assertRaises(AccessError):
                Approval.with_context(**{key: value}).create(
                    {"order_id": order.id, "reason": "Trust me"}
                )
        self.assertFalse(self.Approval.search([("order_id", "=", order.id)]))
        with self.assertRaises(UserError):
            order.with_user(self.salesperson).action_confirm()

    def test_request_approve_confirm_then_grow_past_the_approval(self):
        self.company.credit_policy = "block"
        self.invoice_at(self.today, 800.0)
        order = self.quotation(300.0)
        approval = self.request(order)
        self.assertRecordValues(
            approval,
            [
                {
                    "state": "requested",
                    "amount": 300.0,
                    "requester_id": self.salesperson.id,
                    "partner_id": self.customer.id,
                }
            ],
        )
        self.assertIn(
            self.credit_manager,
            approval.activity_ids.user_id,
            "the credit managers get an activity",
        )
        self.assertTrue(order.credit_approval_pending)
        with self.assertRaises(UserError):
            order.action_confirm()

        approval.with_user(self.credit_manager).action_approve()
        self.assertFalse(order.credit_approval_pending)
        self.assertRecordValues(
            approval, [{"state": "approved", "decided_by_id": self.credit_manager.id}]
        )
        self.assertTrue(approval.decision_date)
        self.assertFalse(approval.activity_ids, "the activities are done")
        self.assertFalse(order.credit_check_blocked)

        order.order_line.price_unit = 350.0
        self.assertFalse(approval.is_current)
        self.assertTrue(order.credit_check_blocked)
        with self.assertRaises(UserError):
            order.action_confirm()
        order.order_line.price_unit = 290.0
        order.with_user(self.salesperson).action_confirm()
        self.assertEqual(order.state, "sale")

    def test_refused_request(self):
        self.company.credit_policy = "block"
        self.invoice_at(self.today, 1200.0)
        order = self.quotation(100.0)
        approval = self.request(order)
        with self.assertRaises(UserError, msg="a refusal says why"):
            approval.with_user(self.credit_manager).action_refuse()
        approval.with_user(self.credit_manager).write({"decision_note": "Pay first"})
        approval.with_user(self.credit_manager).action_refuse()
        self.assertEqual(approval.state, "refused")
        self.assertIn("Pay first", order.message_ids[0].body)
        with self.assertRaises(UserError):
            order.action_confirm()
        with self.assertRaises(UserError, msg="decided once"):
            approval.with_user(self.credit_manager).action_approve()

    def test_one_pending_request_per_order(self):
        order = self.quotation(100.0)
        self.request(order)
        with self.assertRaises(UserError):
            order.with_user(self.salesperson).action_request_credit_approval()
        with self.assertRaises(UserError):
            self.Approval.with_user(self.salesperson).create(
                {"order_id": order.id, "reason": "  "}
            )

    def test_salesperson_cannot_change_credit_or_decide(self):
        customer = self.customer.with_user(self.salesperson)
        for values in (
            {"credit_limit": 5000.0},
            {"credit_hold": True},
            {"credit_rating_override": "a"},
        ):
            with self.assertRaises(AccessError):
                customer.write(values)
        self.assertEqual(self.customer.credit_limit, 1000.0)
        self.assertEqual(customer.credit_exposure, 0.0, "exposure is readable")
        approval = self.request(self.quotation(100.0))
        with self.assertRaises(AccessError):
            approval.with_user(self.salesperson).action_approve()
        with self.assertRaises(AccessError):
            approval.with_user(self.salesperson).write({"state": "approved"})
        self.assertEqual(approval.state, "requested")
        self.customer.with_user(self.credit_manager).credit_limit = 5000.0
        self.assertEqual(self.customer.credit_limit, 5000.0)

    def test_new_customer_gets_no_credit_terms_from_context_defaults(self):
        """default_credit_limit and the like in the context of create() are
        credit terms given: refused to a salesperson as in the values."""
        sales_user = new_test_user(
            self.env,
            login="credit_context_sales_user",
            groups="sales_team.group_sale_salesman,base.group_partner_manager",
        )
        Partner = self.env["res.partner"].with_user(sales_user)
        for key, value in (
            ("default_credit_limit", 1000000.0),
            ("default_credit_rating_override", "a"),
        ):
            with self.subTest(key=key), self.assertRaises(AccessError):
                Partner.with_context(**{key: value}).create({"name": "Big Spender"})
        self.assertFalse(self.env["res.partner"].search([("name", "=", "Big Spender")]))
        self.assertTrue(Partner.create({"name": "Big Spender"}))

    def test_salesperson_sees_the_credit_of_own_customers_only(self):
        other_customer = self.env["res.partner"].create(
            {"name": "Someone else's customer", "is_company": True}
        )
        self.invoice_at(self.today, 100.0)
        self.invoice_at(self.today, 200.0, partner=other_customer)
        self.commit_refresh()
        profiles = self.Profile.search(
            [("partner_id", "in", (self.customer | other_customer).ids)]
        )
        self.assertEqual(len(profiles), 2)
        self.assertEqual(
            self.Profile.with_user(self.salesperson).search([]).partner_id,
            self.customer,
        )
        with self.assertRaises(AccessError):
            profiles.with_user(self.salesperson).write({"credit_hold": True})

    def test_prepaid_order_bypasses_when_enabled(self):
        self.company.credit_policy = "block"
        # Not the orders paid online in full (test_credit_online_payment).
        self.company.credit_confirm_paid_online = False
        self.invoice_at(self.today, 1000.0)
        order = self.quotation(300.0)
        provider = self.env["payment.provider"].create(
            {
                "name": "Test provider",
                "code": "none",
                "state": "test",
                "payment_method_ids": [
                    Command.set(self.env.ref("payment.payment_method_unknown").ids)
                ],
            }
        )
        transaction = self.env["payment.transaction"].create(
            {
                "provider_id": provider.id,
                "payment_method_id": self.env.ref("payment.payment_method_unknown").id,
                "amount": 300.0,
                "currency_id": order.currency_id.id,
                "partner_id": self.customer.id,
                "reference": "PREPAID-1",
                "sale_order_ids": [Command.set(order.ids)],
            }
        )
        # Paid, before Odoo's post-processing (which would confirm the order).
        transaction.state = "done"
        self.assertEqual(order.amount_paid, 300.0)
        with self.assertRaises(UserError):
            order.action_confirm()
        self.company.credit_bypass_prepaid = True
        order.action_confirm()
        self.assertEqual(order.state, "sale")

    # -------------------------------------------------------------------------
    # No caller-settable bypass
    # -------------------------------------------------------------------------

    def test_no_context_key_skips_the_credit_check(self):
        """Any JSON-RPC client sets any context key: none lets an order the
        credit does not cover through."""
        self.company.credit_policy = "block"
        self.invoice_at(self.today, 800.0)
        order = self.quotation(300.0).with_user(self.salesperson)
        forged = {
            "sale_reconciliation_skip_credit_check": True,
            "skip_credit_check": True,
            "bypass_risk": True,
            "credit_check_bypass": True,
            "sale_reconciliation_credit_bypass": True,
            "sale_reconciliation_paid_online": True,
            "send_email": True,
        }
        with self.assertRaises(UserError):
            order.with_context(**forged).action_confirm()
        self.assertEqual(order.state, "draft")
        with self.assertRaises(UserError, msg="nor writing the state past it"):
            order.with_context(**forged).write({"state": "sale"})
        self.assertEqual(order.state, "draft")
        self.assertFalse(order.with_context(**forged)._is_paid_online())

    # -------------------------------------------------------------------------
    # Who reads the credit figures
    # -------------------------------------------------------------------------

    def _figures_read_as(self, user, partner=None):
        partner = (partner or self.customer).with_user(user)
        partner.invalidate_recordset()
        return partner.read(
            [
                "credit_exposure",
                "credit_available",
                "credit_overdue_amount",
                "credit_rating",
                "credit_average_days_late",
            ]
        )[0]

    def test_credit_figures_for_finance_and_own_salesperson_only(self):
        self.invoice_at(self.days_ago(40), 300.0, due=self.days_ago(20))
        other_salesperson = new_test_user(
            self.env,
            login="credit_other_salesperson",
            groups="sales_team.group_sale_salesman_all_leads",
            company_id=self.company.id,
        )
        billing = new_test_user(
            self.env,
            login="credit_billing",
            groups="account.group_account_invoice",
            company_id=self.company.id,
        )
        employee = new_test_user(
            self.env,
            login="credit_employee",
            groups="base.group_user",
            company_id=self.company.id,
        )
        for user in (self.salesperson, self.credit_manager, billing):
            values = self._figures_read_as(user)
            self.assertEqual(values["credit_exposure"], 300.0, user.login)
            self.assertEqual(values["credit_available"], 700.0, user.login)
            self.assertEqual(values["credit_overdue_amount"], 300.0, user.login)
            self.assertEqual(values["credit_rating"], "c", user.login)
        values = self._figures_read_as(other_salesperson)
        self.assertEqual(
            values,
            dict(
                values,
                credit_exposure=0.0,
                credit_available=0.0,
                credit_overdue_amount=0.0,
                credit_rating=False,
                credit_average_days_late=0.0,
            ),
            "another salesperson's customer shows nothing",
        )
        self.commit_refresh()
        Partner = self.env["res.partner"]
        self.assertFalse(
            Partner.with_user(other_salesperson).search(
                [("id", "=", self.customer.id), ("credit_exposure", ">", 100.0)]
            ),
            "nor is found by its figures",
        )
        self.assertEqual(
            Partner.with_user(billing).search(
                [("id", "=", self.customer.id), ("credit_exposure", ">", 100.0)]
            ),
            self.customer,
        )
        with self.assertRaises(AccessError):
            self.customer.with_user(employee).read(["credit_exposure"])

    def test_billing_users_keep_odoo_right_to_set_credit_limits(self):
        billing = new_test_user(
            self.env,
            login="credit_billing_limit",
            groups="account.group_account_invoice,base.group_partner_manager",
            company_id=self.company.id,
        )
        customer = self.customer.with_user(billing)
        self.assertTrue(customer.credit_limit_editable)
        self.assertFalse(customer.credit_control_editable)
        customer.write({"credit_limit": 4000.0})
        self.assertEqual(self.customer.credit_limit, 4000.0)
        body = self.customer.message_ids[0].body
        self.assertIn("1,000.00", body, "the change is logged")
        self.assertIn("4,000.00", body)
        for values in (
            {"credit_hold": True, "credit_limit": 10.0},
            {"credit_rating_override": "a"},
        ):
            with self.assertRaises(AccessError):
                customer.sudo(False).write(values)
        self.assertEqual(self.customer.credit_limit, 4000.0, "refused: unchanged")
        self.assertFalse(self.customer.credit_hold)
        self.assertFalse(self.customer.credit_rating_override)
        created = (
            self.env["res.partner"]
            .with_user(billing)
            .create({"name": "New billed customer", "credit_limit": 500.0})
        )
        self.assertEqual(created.credit_limit, 500.0)

    # -------------------------------------------------------------------------
    # Orders to invoice as Odoo counts them, one banner
    # -------------------------------------------------------------------------

    def test_short_shipped_order_counts_what_is_left_to_invoice(self):
        order = self.create_order([(self.product_delivered, 4, 100.0)])
        self.assertEqual(self.figures()["order_amount"], 0.0, "nothing delivered")
        self.deliver(order, [2])
        self.invoice(order)
        order.with_user(self.salesperson).action_lock()  # short-shipped
        figures = self.figures()
        self.assertEqual(figures["order_amount"], 0.0)
        self.assertEqual(figures["credit_exposure"], 200.0)
        self.assertEqual(
            self.customer.with_user(self.salesperson).credit_exposure, 200.0
        )

    def test_returned_and_refunded_order_stops_counting(self):
        order = self.create_order([(self.product_delivered, 2, 100.0)])
        self.deliver(order, [2])
        invoice = self.invoice(order)
        self.refund(invoice)
        self.deliver(order, [0])  # returned
        figures = self.figures()
        self.assertEqual(figures["order_amount"], 0.0)
        self.assertEqual(figures["credit_exposure"], 0.0)

    def test_warn_shows_one_banner_with_one_exposure(self):
        self.invoice_at(self.today, 800.0)
        # A draft invoice Odoo's own figure left out.
        self.init_invoice(
            "out_invoice", partner=self.customer, amounts=[100.0], taxes=[]
        )
        order = self.quotation(300.0).with_user(self.salesperson)
        self.assertIn("exposure $\xa0900.00", order.credit_check_message)
        self.assertIn("excess $\xa0200.00", order.credit_check_message)
        self.assertIn("$\xa01,200.00", order.partner_credit_warning, "900 + 300")
        arch = order.get_view(self.env.ref("sale.view_order_form").id)["arch"]
        self.assertIn(
            "partner_credit_warning == '' or credit_check_message",
            arch,
            "Odoo's banner hides when the credit control one shows",
        )
