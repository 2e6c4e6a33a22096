"""Salesperson and cashier reconciliation: collections recorded by
salespeople, handed over, confirmed or rejected by a cashier."""

import io
from datetime import date

import openpyxl
from freezegun import freeze_time

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged

from .common import StatementCommon


class CollectionCommon(StatementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env.company
        cls.salesperson_2 = new_test_user(
            cls.env,
            login="collection_salesperson_2",
            name="Second Salesperson",
            groups="sales_team.group_sale_salesman",
            company_id=company.id,
        )
        cls.cashier = new_test_user(
            cls.env,
            login="collection_cashier",
            name="Cashier",
            groups="account.group_account_invoice",
            company_id=company.id,
        )
        cls.customer.user_id = cls.salesperson
        cls.bank = cls.company_data["default_journal_bank"]
        cls.cash = cls.company_data["default_journal_cash"]
        cls.Collection = cls.env["sale.reconciliation.collection"]
        cls.Handover = cls.env["sale.reconciliation.collection.handover"]
        # Where the cashier's check books differences: a current asset, the
        # shortages salespeople are to make good.
        cls.difference_account = cls.env["account.account"].create(
            {
                "name": "Collection Differences",
                "code": "141900",
                "account_type": "asset_current",
            }
        )
        company.collection_difference_account_id = cls.difference_account

    def record(self, amount, user=None, method="cash", invoices=None, **values):
        user = user or self.salesperson
        collection = self.Collection.with_user(user).create(
            {
                "partner_id": self.customer.id,
                "amount": amount,
                "method": method,
                **({"invoice_ids": [Command.set(invoices.ids)]} if invoices else {}),
                **values,
            }
        )
        return collection.with_env(self.env)

    def hand_over(self, collections, cashier=None):
        """Group the collections in a handover to the cashier, handed over
        by their salesperson."""
        user = collections.user_id
        action = collections.with_user(user).action_create_handover()
        handover = self.Handover.with_user(user).browse(action["res_id"])
        handover.cashier_id = cashier or self.cashier
        handover.action_hand_over()
        return handover.with_env(self.env)

    def confirm(self, collection, received, journal=None, reason=None, user=None):
        return collection.with_user(user or self.cashier).action_confirm(
            received, (journal or self.cash).id, reason
        )

    def difference_lines(self):
        return self.env["account.move.line"].search(
            [
                ("account_id", "=", self.difference_account.id),
                ("parent_state", "=", "posted"),
            ]
        )

    def difference_balance(self):
        """The collection difference account's balance: a debit when short."""
        return sum(self.difference_lines().mapped("balance"))

    def customer_balance(self):
        """What the customer owes, as Odoo's journal items have it."""
        lines = self.env["account.move.line"].search(
            [
                ("partner_id", "=", self.customer.id),
                ("account_id.account_type", "=", "asset_receivable"),
                ("parent_state", "=", "posted"),
            ]
        )
        return sum(lines.mapped("balance"))

    def invoice_for_salesperson(self, amount):
        invoice = self.init_invoice(
            "out_invoice", partner=self.customer, amounts=[amount], taxes=[]
        )
        invoice.invoice_user_id = self.salesperson
        invoice.action_post()
        return invoice


@tagged("post_install", "-at_install")
class TestCollections(CollectionCommon):
    def test_record_hand_over_and_confirm_without_difference(self):
        self.customer.user_id = self.salesperson
        order = self.create_order([(self.product_ordered, 6)])
        self.assertEqual(order.user_id, self.salesperson)
        self.deliver(order, [6])
        invoice = self.invoice(order)
        collection = self.record(300.0, invoices=invoice, method="cheque")
        self.assertRecordValues(
            collection,
            [{"state": "draft", "user_id": self.salesperson.id, "amount": 300.0}],
        )
        self.assertTrue(collection.name.startswith("COL/"))
        cash = self.record(40.0, reference="Tip jar")
        handover = self.hand_over(collection | cash)
        self.assertRecordValues(
            handover,
            [
                {
                    "state": "handed_over",
                    "user_id": self.salesperson.id,
                    "cashier_id": self.cashier.id,
                    "amount_cheque": 300.0,
                    "amount_cash": 40.0,
                    "amount_total": 340.0,
                    "pending_count": 2,
                }
            ],
        )
        self.assertEqual(set((collection | cash).mapped("state")), {"handed_over"})
        # The cashier is asked to check it.
        self.assertEqual(handover.activity_ids.user_id, self.cashier)

        self.confirm(collection, 300.0, journal=self.bank)
        payment = collection.payment_id
        self.assertRecordValues(
            collection,
            [
                {
                    "state": "confirmed",
                    "received_amount": 300.0,
                    "difference": 0.0,
                    "journal_id": self.bank.id,
                    "confirmed_by_id": self.cashier.id,
                }
            ],
        )
        self.assertRecordValues(
            payment,
            [
                {
                    "journal_id": self.bank.id,
                    "amount": 300.0,
                    "partner_id": self.customer.id,
                    "payment_type": "inbound",
                    "partner_type": "customer",
                }
            ],
        )
        self.assertEqual(payment.reconciled_invoice_ids, invoice)
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self.assertPaymentFigures(payment, "matched", 0)
        self.assertOrderFigures(order, "reconciled", 300.0, 300.0, 0.0)
        self.assertEqual(handover.state, "handed_over", "the cash is still to check")

        self.confirm(cash, 40.0)
        self.assertRecordValues(
            handover,
            [{"state": "done", "pending_count": 0, "amount_received": 340.0}],
        )
        self.assertEqual(cash.payment_id.journal_id, self.cash)
        self.assertFalse(handover.activity_ids, "the cashier's activity is done")

    def test_a_short_collection_needs_a_reason_and_stays_visible(self):
        """The customer paid 500: the invoice is paid, the 20 missing go to
        the collection difference account."""
        invoice = self.invoice_for_salesperson(500.0)
        collection = self.record(500.0, invoices=invoice)
        handover = self.hand_over(collection)
        with self.assertRaises(UserError):
            self.confirm(collection, 480.0)
        with self.assertRaises(UserError):
            self.confirm(collection, 480.0, reason="   ")
        self.assertEqual(collection.state, "handed_over")
        self.assertFalse(
            self.env["account.payment"].search([("partner_id", "=", self.customer.id)]),
            "nothing half-written by a refused confirmation",
        )
        self.confirm(collection, 480.0, reason="One note was counterfeit")
        self.assertRecordValues(
            collection,
            [
                {
                    "state": "confirmed",
                    "received_amount": 480.0,
                    "difference": -20.0,
                    "difference_reason": "One note was counterfeit",
                }
            ],
        )
        self.assertEqual(collection.payment_id.amount, 480.0)
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self.assertEqual(invoice.amount_residual, 0.0)
        self.assertEqual(self.customer_balance(), 0.0)
        self.assertEqual(self.difference_balance(), 20.0)
        self.assertRecordValues(
            handover, [{"amount_received": 480.0, "amount_difference": -20.0}]
        )
        self.assertIn("counterfeit", collection.message_ids[0].body)
        self.assertEqual(
            self.Collection.search([("difference", "!=", 0)]),
            collection,
            "found by the With a Difference filter",
        )

    def test_an_over_collection_pays_the_invoice_and_leaves_the_rest_open(self):
        """Unless the cashier says otherwise, an over-receipt is the
        customer's credit."""
        invoice = self.invoice_for_salesperson(500.0)
        collection = self.record(500.0, invoices=invoice)
        self.hand_over(collection)
        self.confirm(collection, 520.0, reason="Customer added a deposit")
        self.assertEqual(collection.difference, 20.0)
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self.assertPaymentFigures(collection.payment_id, "partial", 20.0)
        self.assertEqual(self.customer_balance(), -20.0)
        self.assertEqual(self.difference_balance(), 0.0)

    def test_reject_needs_a_reason_and_makes_no_payment(self):
        collection = self.record(200.0, method="transfer", reference="TR-88")
        handover = self.hand_over(collection)
        with self.assertRaises(UserError):
            collection.with_user(self.cashier).action_reject("")
        collection.with_user(self.cashier).action_reject("No such transfer arrived")
        self.assertRecordValues(
            collection,
            [
                {
                    "state": "rejected",
                    "rejection_reason": "No such transfer arrived",
                    "confirmed_by_id": self.cashier.id,
                }
            ],
        )
        self.assertFalse(collection.payment_id)
        self.assertRecordValues(handover, [{"state": "done", "amount_rejected": 200.0}])
        with self.assertRaises(UserError):
            self.confirm(collection, 200.0)

    def test_check_wizard_confirms_and_rejects_in_one_go(self):
        confirmed = self.record(100.0)
        rejected = self.record(60.0, method="cheque")
        handover = self.hand_over(confirmed | rejected)
        action = handover.with_user(self.cashier).action_check()
        wizard = (
            self.env[action["res_model"]]
            .with_user(self.cashier)
            .browse(action["res_id"])
        )
        lines = {line.collection_id: line for line in wizard.line_ids}
        self.assertEqual(lines[confirmed].journal_id, self.cash)
        self.assertEqual(lines[rejected].journal_id.type, "bank")
        self.assertEqual(lines[confirmed].received_amount, 100.0)
        lines[confirmed].write({"received_amount": 90.0, "reason": "Change given"})
        lines[rejected].write({"decision": "reject", "reason": "Cheque unsigned"})
        wizard.action_apply()
        self.assertRecordValues(
            confirmed | rejected,
            [
                {"state": "confirmed", "difference": -10.0},
                {"state": "rejected", "difference": 0.0},
            ],
        )
        self.assertEqual(handover.state, "done")

    def test_confirming_twice_makes_one_payment(self):
        collection = self.record(100.0)
        self.hand_over(collection)
        self.confirm(collection, 100.0)
        with self.assertRaises(UserError):
            self.confirm(collection, 100.0)
        with self.assertRaises(UserError):
            collection.with_user(self.cashier).action_reject("Too late")
        self.assertEqual(
            self.env["account.payment"].search_count(
                [("partner_id", "=", self.customer.id)]
            ),
            1,
        )

    def test_the_salesperson_cannot_confirm_their_own_collections(self):
        # A salesperson who is also a cashier, even calling as superuser.
        self.salesperson.groups_id += self.env.ref("account.group_account_invoice")
        collection = self.record(100.0)
        handover = self.hand_over(collection)
        with self.assertRaises(AccessError):
            self.confirm(collection, 100.0, user=self.salesperson)
        with self.assertRaises(AccessError):
            collection.with_user(self.salesperson).sudo().action_confirm(
                100.0, self.cash.id
            )
        with self.assertRaises(AccessError):
            collection.with_user(self.salesperson).action_reject("Mine")
        with self.assertRaises(AccessError):
            handover.with_user(self.salesperson).action_check()
        self.assertEqual(collection.state, "handed_over")

    def test_only_the_cashier_of_the_handover_checks_it(self):
        other_cashier = new_test_user(
            self.env,
            login="collection_other_cashier",
            groups="account.group_account_invoice",
            company_id=self.env.company.id,
        )
        collection = self.record(100.0)
        self.hand_over(collection)
        with self.assertRaises(AccessError):
            self.confirm(collection, 100.0, user=other_cashier)
        with self.assertRaises(AccessError):
            self.confirm(collection, 100.0, user=self.salesperson_2)
        # An accounting administrator may step in.
        self.confirm(collection, 100.0, user=self.other_manager)
        self.assertEqual(collection.confirmed_by_id, self.other_manager)

    def test_handover_to_oneself_or_a_non_cashier_is_refused(self):
        collection = self.record(100.0)
        action = collection.with_user(self.salesperson).action_create_handover()
        handover = self.Handover.with_user(self.salesperson).browse(action["res_id"])
        with self.assertRaises(ValidationError):
            handover.cashier_id = self.salesperson
        with self.assertRaises(ValidationError):
            handover.cashier_id = self.salesperson_2
        with self.assertRaises(UserError):
            handover.action_hand_over()  # no cashier
        self.assertEqual(collection.state, "draft")
        # Only the salesperson hands over their collections.
        handover.cashier_id = self.cashier
        with self.assertRaises(AccessError):
            handover.with_user(self.other_manager).action_hand_over()
        self.assertEqual(handover.state, "draft")

    def test_workflow_fields_change_only_through_the_actions(self):
        collection = self.record(100.0)
        for vals in (
            {"state": "confirmed"},
            {"received_amount": 100.0},
            {"payment_id": self.receive_payment(100.0).id},
        ):
            with self.subTest(vals=vals), self.assertRaises(UserError):
                collection.sudo().write(vals)
        with self.assertRaises(UserError):
            self.Collection.sudo().create(
                {
                    "partner_id": self.customer.id,
                    "amount": 10.0,
                    "state": "confirmed",
                }
            )
        handover = self.hand_over(collection)
        with self.assertRaises(UserError):
            collection.sudo().write({"amount": 90.0})
        with self.assertRaises(UserError):
            handover.sudo().write({"state": "done"})
        with self.assertRaises(UserError):
            collection.sudo().unlink()
        with self.assertRaises(UserError):
            handover.sudo().unlink()
        self.assertRecordValues(collection, [{"state": "handed_over", "amount": 100.0}])

    def test_salespeople_see_and_make_their_own_collections_only(self):
        mine = self.record(100.0)
        theirs = self.record(50.0, user=self.salesperson_2)
        Collection = self.Collection.with_user(self.salesperson)
        self.assertEqual(Collection.search([]), mine)
        with self.assertRaises(AccessError):
            theirs.with_user(self.salesperson).read(["amount"])
        with self.assertRaises(AccessError):
            Collection.create(
                {
                    "partner_id": self.customer.id,
                    "amount": 10.0,
                    "user_id": self.salesperson_2.id,
                }
            )
        with self.assertRaises(AccessError):
            theirs.with_user(self.salesperson).action_create_handover()
        self.hand_over(theirs)
        self.assertFalse(
            self.Handover.with_user(self.salesperson).search(
                [("user_id", "=", self.salesperson_2.id)]
            )
        )
        # The cashier sees everyone's.
        self.assertEqual(
            self.Collection.with_user(self.cashier).search(
                [("id", "in", (mine | theirs).ids)]
            ),
            mine | theirs,
        )

    def test_only_the_salesperson_edits_their_draft_collections(self):
        collection = self.record(100.0)
        for user in (self.cashier, self.other_manager):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                collection.with_user(user).write({"amount": 10.0})
        with self.assertRaises(AccessError):
            collection.with_user(self.salesperson).write(
                {"user_id": self.salesperson_2.id}
            )
        collection.with_user(self.salesperson).write({"amount": 90.0})
        self.assertRecordValues(
            collection, [{"amount": 90.0, "user_id": self.salesperson.id}]
        )

    def test_nobody_records_or_prepares_a_handover_in_another_name(self):
        """A salesperson who is also a cashier reads every collection: they
        still record collections and prepare handovers in their own name
        only."""
        both = new_test_user(
            self.env,
            login="collection_salesperson_cashier",
            groups="sales_team.group_sale_salesman,account.group_account_invoice",
            company_id=self.env.company.id,
        )
        theirs = self.record(50.0, user=self.salesperson_2)
        with self.assertRaises(AccessError):
            self.Collection.with_user(both).create(
                {
                    "partner_id": self.customer.id,
                    "amount": 10.0,
                    "user_id": self.salesperson_2.id,
                }
            )
        with self.assertRaises(AccessError):
            self.Handover.with_user(both).create({"user_id": self.salesperson_2.id})
        self.assertEqual(
            self.Collection.search([("user_id", "=", self.salesperson_2.id)]), theirs
        )
        self.assertFalse(
            self.Handover.search([("user_id", "=", self.salesperson_2.id)])
        )

    def test_context_defaults_set_no_workflow_field(self):
        """A JSON-RPC client sets any context key: default_state and the
        like are refused as the same values given to create() are."""
        Collection = self.Collection.with_user(self.salesperson)
        values = {"partner_id": self.customer.id, "amount": 10.0}
        for key, value in (
            ("default_state", "confirmed"),
            ("default_received_amount", 10.0),
            ("default_confirmed_by_id", self.cashier.id),
            ("default_user_id", self.salesperson_2.id),
        ):
            with self.subTest(key=key), self.assertRaises(UserError):
                Collection.with_context(**{key: value}).create(dict(values))
        Handover = self.Handover.with_user(self.salesperson)
        for key, value in (
            ("default_state", "done"),
            ("default_user_id", self.salesperson_2.id),
        ):
            with self.subTest(key=key), self.assertRaises(UserError):
                Handover.with_context(**{key: value}).create({})
        self.assertFalse(self.Collection.search([("amount", "=", 10.0)]))
        self.assertFalse(self.Handover.search([]))
        # A harmless default still works, as in Odoo's forms.
        collection = Collection.with_context(default_state="draft").create(values)
        self.assertEqual(collection.state, "draft")

    def test_portal_users_and_other_companies_read_nothing(self):
        collection = self.record(100.0)
        handover = self.hand_over(collection)
        portal = new_test_user(
            self.env, login="collection_portal", groups="base.group_portal"
        )
        for record in (collection, handover):
            with self.subTest(model=record._name), self.assertRaises(AccessError):
                record.with_user(portal).search([])
            with self.assertRaises(AccessError):
                record.with_user(portal).read(["name"])
        company_2 = self.setup_other_company()["company"]
        cashier_2 = new_test_user(
            self.env,
            login="collection_cashier_2",
            groups="account.group_account_invoice",
            company_id=company_2.id,
            company_ids=[company_2.id],
        )
        self.assertFalse(self.Collection.with_user(cashier_2).search([]))
        with self.assertRaises(AccessError):
            collection.with_user(cashier_2).read(["amount"])
        with self.assertRaises(AccessError):
            collection.with_user(cashier_2).action_confirm(100.0, self.cash.id)
        self.assertEqual(collection.state, "handed_over")


@tagged("post_install", "-at_install")
class TestCollectionReconciliation(CollectionCommon):
    """The period's figures against hand-computed ones (January 2025)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Period = cls.env["sale.reconciliation.period"]
        cls.january = cls.Period._create_months(2025).sorted("date_from")[0]

    def record_on(self, day, amount, user=None, method="cash"):
        return self.record(
            amount, user=user, method=method, date=fields.Date.to_date(day)
        )

    def hand_over_on(self, day, collections):
        with freeze_time(day):
            return self.hand_over(collections)

    def build_january(self):
        sp_a, sp_b = self.salesperson, self.salesperson_2
        a1 = self.record_on("2025-01-05", 500.0)
        a2 = self.record_on("2025-01-08", 300.0, method="cheque")
        self.hand_over_on("2025-01-10", a1 | a2)
        self.confirm(a1, 480.0, reason="20 short")
        a2.with_user(self.cashier).action_reject("Cheque bounced")
        a3 = self.record_on("2025-01-12", 200.0, method="transfer")
        self.hand_over_on("2025-01-25", a3)  # awaits the cashier
        self.record_on("2025-01-20", 100.0)  # in hand, 11 days at Jan 31
        self.record_on("2024-12-28", 50.0)  # in hand, before the period
        a6 = self.record_on("2025-01-30", 70.0)
        self.hand_over_on("2025-02-03", a6)  # in hand at Jan 31, awaits
        b1 = self.record_on("2025-01-15", 1000.0, user=sp_b)
        self.hand_over_on("2025-01-16", b1)
        self.confirm(b1, 1000.0)
        self.record_on("2025-02-02", 400.0, user=sp_b)  # February
        return sp_a, sp_b

    def summary(self, user=None, **values):
        return (
            self.env["sale.reconciliation.collection.summary"]
            .with_user(user or self.env.user)
            .create({"date_from": "2025-01-01", "date_to": "2025-01-31", **values})
        )

    def test_figures_per_salesperson(self):
        sp_a, sp_b = self.build_january()
        rows = {row["user"]: row for row in self.summary()._get_rows()}
        self.assertEqual(set(rows), {sp_a, sp_b})
        expected_a = {
            "recorded_count": 5,
            "recorded": 1170.0,  # 500 + 300 + 200 + 100 + 70
            "confirmed": 500.0,
            "received": 480.0,
            "difference": -20.0,
            "rejected": 300.0,
            "awaiting": 270.0,  # 200 + 70
            "in_hand": 220.0,  # 100 + 50 + 70 at January 31
            "in_hand_count": 3,
            "oldest_in_hand": date(2024, 12, 28),
            "age": 34,
        }
        expected_b = {
            "recorded_count": 1,
            "recorded": 1000.0,
            "confirmed": 1000.0,
            "received": 1000.0,
            "difference": 0.0,
            "rejected": 0.0,
            "awaiting": 0.0,
            "in_hand": 0.0,
            "in_hand_count": 0,
        }
        for user, expected in ((sp_a, expected_a), (sp_b, expected_b)):
            with self.subTest(user=user.name):
                self.assertEqual({key: rows[user][key] for key in expected}, expected)
        summary = self.summary()
        totals = summary._get_totals(summary._get_rows())
        self.assertEqual(totals["recorded"], 2170.0)
        self.assertEqual(totals["difference"], -20.0)
        self.assertEqual(totals["in_hand"], 220.0)

        # A salesperson's reconciliation holds their own figures only.
        own = self.summary(user=sp_a)._get_rows()
        self.assertEqual([row["user"] for row in own], [sp_a])

    def test_pdf_and_excel(self):
        self.build_january()
        summary = self.summary()
        html = (
            self.env["ir.actions.report"]
            ._render_qweb_html(
                "sale_reconciliation.report_collection_summary", summary.ids
            )[0]
            .decode()
        )
        for text in (
            "Salesperson and Cashier Reconciliation",
            self.salesperson.name,
            "20 short",
            "Cheque bounced",
            "Still in Hand",
        ):
            self.assertIn(text, html)
        action = summary.action_export_xlsx()
        attachment = self.env["ir.attachment"].browse(
            int(action["url"].split("/")[3].split("?")[0])
        )
        workbook = openpyxl.load_workbook(io.BytesIO(attachment.raw))
        sheet = workbook.worksheets[0]
        rows = {
            row[0]: row
            for row in sheet.iter_rows(min_row=6, values_only=True)
            if row[0]
        }
        self.assertEqual(rows[self.salesperson.name][2], 1170.0)
        self.assertEqual(rows[self.salesperson.name][5], -20.0)
        self.assertEqual(rows["Total"][2], 2170.0)
        follow = workbook.worksheets[1]
        reasons = [row[9] for row in follow.iter_rows(min_row=2, values_only=True)]
        self.assertIn("20 short", reasons)
        self.assertIn("Cheque bounced", reasons)

    def test_handover_slip(self):
        collection = self.record_on("2025-01-05", 500.0)
        handover = self.hand_over_on("2025-01-10", collection)
        self.confirm(collection, 480.0, reason="20 short")
        html = (
            self.env["ir.actions.report"]
            ._render_qweb_html(
                "sale_reconciliation.report_collection_handover", handover.ids
            )[0]
            .decode()
        )
        self.assertIn(handover.name, html)
        self.assertIn("20 short", html)
        self.assertIn(self.cashier.name, html)

    def test_closing_checklist_warns_of_collections_in_hand(self):
        self.record_on("2025-01-20", 100.0)
        self.record_on("2025-02-03", 100.0)  # after January
        handed = self.record_on("2025-01-21", 100.0)
        self.hand_over_on("2025-01-22", handed)
        checklist = {
            item["code"]: item for item in self.january._get_closing_checklist()
        }
        item = checklist["collections"]
        self.assertEqual(item["count"], 1)
        self.assertFalse(item["blocking"], "a warning by default")
        self.assertEqual(item["label"], "Collections not handed over")
        with self.assertRaises(UserError):
            self.january.action_close()
        self.env.company.closing_collections_blocking = True
        with self.assertRaises(UserError):
            self.january.action_close(acknowledged_warnings=["collections"])
        self.assertEqual(self.january.state, "open")
        self.env.company.closing_collections_blocking = False
        self.january.action_close(acknowledged_warnings=["collections"])
        self.assertEqual(self.january.state, "closed")
