"""The cashier's check books cash differences off the customer; collections
follow their sales period and their salesperson; the collection's payment
reaches the invoices it paid."""

from unittest.mock import patch

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .test_collections import CollectionCommon


@tagged("post_install", "-at_install")
class TestCollectionDifferences(CollectionCommon):
    """A customer hands 1,000 to the salesperson for a 1,000 invoice."""

    def setUp(self):
        super().setUp()
        self.invoice_1000 = self.invoice_for_salesperson(1000.0)
        self.collection = self.record(1000.0, invoices=self.invoice_1000)
        self.handover = self.hand_over(self.collection)

    def summary_row(self):
        summary = self.env["sale.reconciliation.collection.summary"].create(
            {"date_from": self.collection.date, "date_to": self.collection.date}
        )
        rows = {row["user"]: row for row in summary._get_rows()}
        return rows[self.salesperson]

    def test_a_shortfall_goes_to_the_difference_account_not_to_the_customer(self):
        self.confirm(self.collection, 800.0, reason="200 missing from the envelope")
        payment = self.collection.payment_id
        self.assertRecordValues(
            self.collection,
            [
                {
                    "state": "confirmed",
                    "received_amount": 800.0,
                    "difference": -200.0,
                    "difference_account_id": self.difference_account.id,
                }
            ],
        )
        self.assertEqual(payment.amount, 800.0, "what reached the cash journal")
        # The customer, who paid 1,000 and holds a receipt, owes nothing.
        self.assertIn(self.invoice_1000.payment_state, ("paid", "in_payment"))
        self.assertEqual(self.invoice_1000.amount_residual, 0.0)
        self.assertEqual(self.customer_balance(), 0.0)
        self.assertEqual(self.invoice_1000.matched_payment_ids, payment)
        # The 200 sits on the difference account, against the salesperson.
        self.assertEqual(self.difference_balance(), 200.0)
        self.assertEqual(
            self.difference_lines().partner_id, self.salesperson.partner_id
        )
        self.assertRecordValues(
            self.handover,
            [{"state": "done", "amount_received": 800.0, "amount_difference": -200.0}],
        )
        row = self.summary_row()
        self.assertEqual(
            (row["confirmed"], row["received"], row["difference"]),
            (1000.0, 800.0, -200.0),
            "the period's salesperson and cashier reconciliation adds up",
        )
        self.assertIn(self.difference_account.code, self.collection.message_ids[0].body)

    def test_without_a_difference_account_a_difference_is_refused(self):
        self.env.company.collection_difference_account_id = False
        for received, over_receipt in ((800.0, None), (1050.0, "account")):
            with (
                self.subTest(received=received),
                self.assertRaisesRegex(UserError, "Settings > Sales Reconciliation"),
            ):
                self.collection.with_user(self.cashier).action_confirm(
                    received, self.cash.id, "Counted twice", over_receipt
                )
        self.assertRecordValues(
            self.collection,
            [{"state": "handed_over", "received_amount": 0.0, "payment_id": False}],
        )
        self.assertFalse(
            self.env["account.payment"].search([("partner_id", "=", self.customer.id)]),
            "nothing half-written by a refused confirmation",
        )
        self.assertEqual(self.invoice_1000.payment_state, "not_paid")
        # An over-receipt left to the customer needs no account.
        self.confirm(self.collection, 1050.0, reason="Customer added a deposit")
        self.assertEqual(self.collection.state, "confirmed")
        self.assertFalse(self.collection.difference_account_id)

    def test_a_receivable_difference_account_is_refused(self):
        self.env.company.collection_difference_account_id = self.company_data[
            "default_account_receivable"
        ]
        with self.assertRaisesRegex(UserError, "Settings > Sales Reconciliation"):
            self.confirm(self.collection, 800.0, reason="200 missing")
        self.assertEqual(self.collection.state, "handed_over")

    def test_an_over_receipt_is_the_customers_credit_by_default(self):
        self.confirm(self.collection, 1050.0, reason="Customer added a deposit")
        self.assertRecordValues(
            self.collection, [{"difference": 50.0, "difference_account_id": False}]
        )
        self.assertIn(self.invoice_1000.payment_state, ("paid", "in_payment"))
        self.assertEqual(self.customer_balance(), -50.0, "50 to the customer's credit")
        self.assertEqual(self.difference_balance(), 0.0)
        self.assertPaymentFigures(self.collection.payment_id, "partial", 50.0)

    def test_the_cashier_may_send_an_over_receipt_to_the_difference_account(self):
        self.collection.with_user(self.cashier).action_confirm(
            1050.0, self.cash.id, "Change not given back", over_receipt="account"
        )
        self.assertRecordValues(
            self.collection,
            [
                {
                    "received_amount": 1050.0,
                    "difference": 50.0,
                    "difference_account_id": self.difference_account.id,
                }
            ],
        )
        self.assertEqual(self.collection.payment_id.amount, 1050.0)
        self.assertIn(self.invoice_1000.payment_state, ("paid", "in_payment"))
        self.assertEqual(self.customer_balance(), 0.0)
        self.assertEqual(self.difference_balance(), -50.0)
        self.assertPaymentFigures(self.collection.payment_id, "matched", 0.0)

    def test_an_unknown_choice_for_an_over_receipt_is_refused(self):
        with self.assertRaises(UserError):
            self.collection.with_user(self.cashier).action_confirm(
                1050.0, self.cash.id, "Deposit", over_receipt="salesperson"
            )
        self.assertEqual(self.collection.state, "handed_over")

    def test_the_check_wizard_books_differences_as_the_cashier_chooses(self):
        over = self.record(100.0)
        handover = self.hand_over(over)
        action = handover.with_user(self.cashier).action_check()
        wizard = (
            self.env[action["res_model"]]
            .with_user(self.cashier)
            .browse(action["res_id"])
        )
        self.assertEqual(wizard.line_ids.over_receipt, "customer")
        wizard.line_ids.write(
            {"received_amount": 130.0, "reason": "Tip", "over_receipt": "account"}
        )
        wizard.action_apply()
        self.assertRecordValues(
            over,
            [
                {
                    "state": "confirmed",
                    "difference": 30.0,
                    "difference_account_id": self.difference_account.id,
                }
            ],
        )
        self.assertEqual(self.difference_balance(), -30.0)


@tagged("post_install", "-at_install")
class TestCollectionPeriods(CollectionCommon):
    """January 2025 is closed on February 10."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.january = (
            cls.env["sale.reconciliation.period"]
            ._create_months(2025)
            .sorted("date_from")[0]
        )

    def setUp(self):
        super().setUp()
        with freeze_time("2025-01-31"):
            # Recorded in January, still in hand when the month closes.
            self.in_hand = self.record(100.0)
        with freeze_time("2025-02-10"):
            self.january.action_close(acknowledged_warnings=["collections"])
        self.assertEqual(self.january.state, "closed")

    @freeze_time("2025-02-10")
    def test_no_collection_is_recorded_in_a_closed_month(self):
        with self.assertRaisesRegex(UserError, "closed"):
            self.record(50.0, date=fields.Date.to_date("2025-01-20"))
        self.assertFalse(self.Collection.search([("amount", "=", 50.0)]))
        february = self.record(50.0)
        self.assertEqual(february.date, fields.Date.to_date("2025-02-10"))

    @freeze_time("2025-02-10")
    def test_a_collection_is_not_moved_into_or_out_of_a_closed_month(self):
        february = self.record(50.0)
        with self.assertRaises(UserError):
            february.with_user(self.salesperson).write(
                {"date": fields.Date.to_date("2025-01-15")}
            )
        with self.assertRaises(UserError):
            self.in_hand.with_user(self.salesperson).write(
                {"date": fields.Date.to_date("2025-02-01")}
            )
        # Nor changed or deleted, even by the superuser.
        with self.assertRaises(UserError):
            self.in_hand.sudo().write({"amount": 10.0})
        with self.assertRaises(UserError):
            self.in_hand.with_user(self.salesperson).unlink()
        self.assertRecordValues(
            self.in_hand | february,
            [
                {"date": fields.Date.to_date("2025-01-31"), "amount": 100.0},
                {"date": fields.Date.to_date("2025-02-10"), "amount": 50.0},
            ],
        )
        # The month stays closed with its collection in hand counted.
        checklist = {
            item["code"]: item for item in self.january._get_closing_checklist()
        }
        self.assertEqual(checklist["collections"]["count"], 1)

    @freeze_time("2025-02-10")
    def test_a_collection_of_a_closed_month_is_still_handed_over_and_checked(self):
        handover = self.hand_over(self.in_hand)
        self.confirm(self.in_hand, 100.0)
        self.assertRecordValues(
            self.in_hand,
            [
                {
                    "state": "confirmed",
                    "handover_date": fields.Date.to_date("2025-02-10"),
                }
            ],
        )
        self.assertEqual(handover.state, "done")


@tagged("post_install", "-at_install")
class TestCollectionOwnership(CollectionCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.reconciliation_manager = new_test_user(
            cls.env,
            login="collection_reconciliation_manager",
            name="Reconciliation Manager",
            groups="sale_reconciliation.group_reconciliation_manager",
            company_id=cls.env.company.id,
        )

    def notes_of(self, record):
        return record.message_ids.filtered(
            lambda message: message.subtype_id == self.env.ref("mail.mt_note")
        )

    def test_the_salesperson_deletes_their_own_drafts(self):
        collection = self.record(100.0)
        action = collection.with_user(self.salesperson).action_create_handover()
        handover = self.Handover.browse(action["res_id"])
        handover.with_user(self.salesperson).unlink()
        self.assertFalse(handover.exists())
        self.assertRecordValues(collection, [{"state": "draft", "handover_id": False}])
        collection.with_user(self.salesperson).unlink()
        self.assertFalse(collection.exists())

    def test_a_manager_deletes_anothers_collection_only_with_a_reason(self):
        collection = self.record(100.0, reference="R-17")
        as_manager = collection.with_user(self.reconciliation_manager)
        with self.assertRaisesRegex(UserError, "Delete with a Reason"):
            as_manager.unlink()
        with self.assertRaises(UserError):
            as_manager.action_delete("  ")
        self.assertTrue(collection.exists())
        as_manager.action_delete("Recorded twice")
        self.assertFalse(collection.exists())
        note = self.notes_of(self.customer)[:1]
        self.assertIn("Recorded twice", note.body)
        self.assertIn(self.salesperson.name, note.body)
        self.assertEqual(note.author_id, self.reconciliation_manager.partner_id)

    def test_a_manager_deletes_with_a_reason_from_the_list(self):
        """The Delete with a Reason action of the lists and forms: the
        models' own checks, for collections and handovers."""
        collection = self.record(100.0)
        other = self.record(50.0)
        action = other.with_user(self.salesperson).action_create_handover()
        handover = self.Handover.browse(action["res_id"])
        Wizard = self.env["sale.reconciliation.collection.delete"]
        wizard = (
            Wizard.with_user(self.reconciliation_manager)
            .with_context(active_model=collection._name, active_ids=collection.ids)
            .create({"reason": "Customer paid by transfer instead"})
        )
        result = wizard.action_delete()
        self.assertEqual(result["res_model"], collection._name)
        self.assertFalse(collection.exists())
        self.assertIn("Customer paid by transfer", self.notes_of(self.customer)[0].body)
        Wizard.with_user(self.reconciliation_manager).with_context(
            active_model=handover._name, active_ids=handover.ids
        ).create({"reason": "Handed to the wrong office"}).action_delete()
        self.assertFalse(handover.exists())
        self.assertRecordValues(other, [{"state": "draft", "handover_id": False}])
        # A cashier may not even open it; called anyway, the model refuses.
        with self.assertRaises(AccessError):
            Wizard.with_user(self.cashier).with_context(
                active_model=other._name, active_ids=other.ids
            ).create({"reason": "Not mine"})
        self.assertTrue(other.exists())

    def test_others_cannot_delete_a_collection(self):
        collection = self.record(100.0)
        both = new_test_user(
            self.env,
            login="collection_salesperson_and_cashier",
            groups="sales_team.group_sale_salesman,account.group_account_invoice",
            company_id=self.env.company.id,
        )
        credit_manager = new_test_user(
            self.env,
            login="collection_credit_manager",
            groups="sale_reconciliation.group_credit_manager",
            company_id=self.env.company.id,
        )
        for user in (both, self.cashier, credit_manager):
            with self.subTest(user=user.login):
                with self.assertRaises(AccessError):
                    collection.with_user(user).unlink()
                with self.assertRaises(AccessError):
                    collection.with_user(user).action_delete("Not mine")
        self.assertTrue(collection.exists())
        self.assertFalse(self.notes_of(self.customer))

    def test_a_manager_deletes_anothers_handover_only_with_a_reason(self):
        collection = self.record(100.0)
        action = collection.with_user(self.salesperson).action_create_handover()
        handover = self.Handover.browse(action["res_id"])
        as_manager = handover.with_user(self.reconciliation_manager)
        with self.assertRaisesRegex(UserError, "Delete with a Reason"):
            as_manager.unlink()
        with self.assertRaises(AccessError):
            handover.with_user(self.cashier).unlink()
        self.assertTrue(handover.exists())
        name = handover.name
        as_manager.action_delete("Wrong cashier, start again")
        self.assertFalse(handover.exists())
        self.assertRecordValues(collection, [{"state": "draft", "handover_id": False}])
        note = self.notes_of(collection)[:1]
        self.assertIn(name, note.body)
        self.assertIn("Wrong cashier, start again", note.body)

    def test_a_handover_holding_collections_keeps_its_currency_and_company(self):
        collection = self.record(100.0)
        action = collection.with_user(self.salesperson).action_create_handover()
        handover = self.Handover.with_user(self.salesperson).browse(action["res_id"])
        other_currency = self.setup_other_currency("EUR")
        with self.assertRaises(UserError):
            handover.write({"currency_id": other_currency.id})
        company_2 = self.setup_other_company()["company"]
        with self.assertRaises(UserError):
            handover.sudo().write({"company_id": company_2.id})
        # Nor does a collection of another currency join it.
        with self.assertRaises(UserError):
            collection.with_user(self.salesperson).write(
                {"currency_id": other_currency.id}
            )
        self.assertRecordValues(
            handover,
            [
                {
                    "currency_id": self.env.company.currency_id.id,
                    "company_id": self.env.company.id,
                    "amount_total": 100.0,
                }
            ],
        )
        # An empty handover is still set up freely.
        empty = self.Handover.with_user(self.salesperson).create({})
        empty.write({"currency_id": other_currency.id})
        self.assertEqual(empty.currency_id, other_currency)


@tagged("post_install", "-at_install")
class TestCollectionPaymentLinks(CollectionCommon):
    def setUp(self):
        super().setUp()
        self.first = self.invoice_at("2025-01-05", 500.0, due="2025-01-05")
        self.second = self.invoice_at("2025-01-10", 700.0, due="2025-02-10")
        (self.first | self.second).invoice_user_id = self.salesperson
        self.collection = self.record(500.0, invoices=self.first | self.second)
        self.hand_over(self.collection)

    def test_the_payment_is_linked_to_the_invoices_it_paid_only(self):
        self.confirm(self.collection, 500.0)
        payment = self.collection.payment_id
        self.assertIn(self.first.payment_state, ("paid", "in_payment"))
        self.assertEqual(self.first.matched_payment_ids, payment)
        self.assertEqual(self.second.payment_state, "not_paid")
        self.assertFalse(self.second.matched_payment_ids)

    def test_a_payment_method_without_outstanding_account(self):
        """As with Odoo's accounting app (the in-payment state) and a payment
        method without outstanding account: Odoo makes no journal entry for
        the payment, and matches it through the invoices it is linked to."""
        self.cash.inbound_payment_method_line_ids.payment_account_id = False
        with patch.object(
            type(self.env["account.move"]),
            "_get_invoice_in_payment_state",
            lambda move: "in_payment",
        ):
            self.confirm(self.collection, 500.0)
            payment = self.collection.payment_id
            self.assertFalse(payment.move_id, "Odoo made no journal entry")
            self.assertRecordValues(
                self.collection, [{"state": "confirmed", "payment_id": payment.id}]
            )
            self.assertEqual(self.first.matched_payment_ids, payment)
            self.assertEqual(self.first.payment_state, "in_payment")
            self.assertFalse(self.second.matched_payment_ids)
            self.assertEqual(self.second.payment_state, "not_paid")

    def test_without_outstanding_account_a_difference_is_refused(self):
        self.cash.inbound_payment_method_line_ids.payment_account_id = False
        with patch.object(
            type(self.env["account.move"]),
            "_get_invoice_in_payment_state",
            lambda move: "in_payment",
        ):
            with self.assertRaisesRegex(UserError, "outstanding"):
                self.confirm(self.collection, 450.0, reason="50 missing")
        self.assertEqual(self.collection.state, "handed_over")
        self.assertFalse(
            self.env["account.payment"].search([("partner_id", "=", self.customer.id)])
        )
