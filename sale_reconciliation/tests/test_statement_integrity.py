"""The statement's controls hold through the model API, whoever calls it and
with whatever context: what a JSON-RPC client can do, tried for real."""

from datetime import date

from freezegun import freeze_time
from psycopg2 import IntegrityError
from psycopg2.errors import SerializationFailure

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import StatementCommon

# A 1x1 white PNG, as the portal's signature pad sends it.
SIGNATURE = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4//8/AAX+Av4N70a4"
    "AAAAAElFTkSuQmCC"
)

WATCHED_FIELDS = [
    "name",
    "state",
    "closing_balance",
    "total_debit",
    "accepted_by",
    "confirmed_by_id",
    "content_hash",
]


@tagged("post_install", "-at_install")
class TestStatementIntegrity(StatementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer.user_id = cls.salesperson
        cls.invoice = cls.invoice_at("2025-03-05", 800.0)
        cls.other_salesperson = new_test_user(
            cls.env,
            login="integrity_other_salesperson",
            groups="sales_team.group_sale_salesman",
            company_id=cls.env.company.id,
        )
        cls.other_customer = cls.env["res.partner"].create(
            {
                "name": "Someone Else's Customer",
                "is_company": True,
                "user_id": cls.other_salesperson.id,
            }
        )
        cls.invoice_at("2025-03-06", 300.0, partner=cls.other_customer)
        cls.Statement = cls.env["sale.reconciliation.statement"]

    def march(self, partner=None, **values):
        return self.make_statement(
            "2025-03-01", "2025-03-31", partner=partner, **values
        )

    def sent(self, statement):
        statement.with_user(self.other_manager).action_confirm()
        statement.with_user(self.other_manager).action_mark_sent()
        return statement

    def snapshot(self, statement):
        statement.invalidate_recordset()
        return (
            statement.read(WATCHED_FIELDS)[0],
            statement.line_ids.read(["debit", "credit", "balance", "dispute_comment"]),
        )

    # ------------------------------------------------------------------
    # 1. Workflow fields and figures change only through the actions
    # ------------------------------------------------------------------

    def test_write_of_workflow_fields_and_figures_is_refused_to_everyone(self):
        statement = self.march()
        attempts = [
            (self.salesperson, {"state": "accepted"}),
            (self.salesperson, {"closing_balance": 0.0}),
            (self.other_manager, {"state": "confirmed"}),
            (self.other_manager, {"confirmed_by_id": self.other_manager.id}),
            (self.other_manager, {"content_hash": "0" * 64}),
            (self.other_manager, {"line_ids": [Command.clear()]}),
        ]
        before = self.snapshot(statement)
        for user, vals in attempts:
            with self.subTest(user=user.login, fields=list(vals)):
                with self.assertRaises(UserError):
                    statement.with_user(user).with_context(
                        sale_reconciliation_statement_workflow=True
                    ).write(vals)
                self.assertEqual(self.snapshot(statement), before)
        with self.assertRaises(UserError):
            statement.sudo().write({"state": "accepted"})
        self.assertEqual(self.snapshot(statement), before)

    def test_a_customers_acceptance_cannot_be_forged(self):
        statement = self.sent(self.march())
        before = self.snapshot(statement)
        with self.assertRaises(UserError):
            statement.with_user(self.salesperson).write(
                {"accepted_by": "Forged Name", "state": "accepted"}
            )
        with self.assertRaises(AccessError):
            statement.with_user(self.salesperson).action_accept("Forged Name")
        self.assertEqual(self.snapshot(statement), before)
        self.assertEqual(statement.state, "sent")

    def test_lines_change_only_with_the_ledger(self):
        statement = self.march()
        line = statement.line_ids[:1]
        before = self.snapshot(statement)
        Line = self.env["sale.reconciliation.statement.line"].with_user(
            self.other_manager
        )
        with self.assertRaises(UserError):
            line.with_user(self.other_manager).write({"debit": 1.0})
        with self.assertRaises(UserError):
            line.with_user(self.other_manager).unlink()
        with self.assertRaises(UserError):
            Line.create({"statement_id": statement.id, "name": "Fake", "debit": 5.0})
        self.assertEqual(self.snapshot(statement), before)

    def test_a_new_statement_starts_as_a_numbered_draft(self):
        for values in (
            {"state": "accepted"},
            {"accepted_by": "Forged"},
            {"name": "ST/FORGED"},
            {"closing_balance": 5.0},
            {"content_hash": "0" * 64},
        ):
            with self.subTest(values=values), self.assertRaises(UserError):
                self.march(**values)
        self.assertFalse(self.Statement.search([("partner_id", "=", self.customer.id)]))

    def test_chatter_cannot_mark_a_statement_sent(self):
        statement = self.march()
        statement.with_user(self.other_manager).action_confirm()
        # Odoo's chatter posts as superuser with the context the client sent.
        for records in (
            statement.with_user(self.salesperson),
            statement.with_user(self.salesperson).sudo(),
        ):
            records.with_context(mark_statement_as_sent=True).message_post(
                body="Just a note"
            )
        self.assertRecordValues(statement, [{"state": "confirmed", "sent_date": False}])

    def test_odoo_makes_numbers_and_access_tokens(self):
        statement = self.march(name="")
        self.assertTrue(statement.name.startswith("ST/"))
        for user in (self.salesperson, self.other_manager):
            with self.subTest(user=user.login), self.assertRaises(UserError):
                statement.with_user(user).write({"access_token": "known-to-me"})
        self.sent(statement)
        self.assertNotEqual(statement.access_token, "known-to-me")
        self.assertTrue(statement.access_token)

    def test_signature_changes_only_with_the_acceptance(self):
        statement = self.sent(self.march())
        statement.with_user(self.other_manager).action_accept(
            "Li Wei", signature=SIGNATURE
        )
        self.assertTrue(statement.signature)
        # Kept in the statement itself: no attachment to replace or delete.
        self.assertFalse(
            self.env["ir.attachment"]
            .sudo()
            .search(
                [
                    ("res_model", "=", statement._name),
                    ("res_id", "=", statement.id),
                    ("res_field", "=", "signature"),
                ]
            )
        )
        with self.assertRaises(UserError):
            statement.with_user(self.other_manager).write({"signature": False})
        self.assertTrue(statement._is_content_hash_valid())

    def test_salesperson_cannot_take_another_salespersons_customer(self):
        # Odoo gives new users Contact Creation: they may edit customers.
        self.salesperson.groups_id |= self.env.ref("base.group_partner_manager")
        with self.assertRaises(AccessError):
            self.other_customer.with_user(self.salesperson).write(
                {"user_id": self.salesperson.id}
            )
        self.assertEqual(self.other_customer.user_id, self.other_salesperson)
        # A customer without a salesperson can be taken, and an own one given.
        newcomer = self.env["res.partner"].create(
            {"name": "Walk-in Customer", "is_company": True}
        )
        newcomer.with_user(self.salesperson).write({"user_id": self.salesperson.id})
        newcomer.with_user(self.salesperson).write(
            {"user_id": self.other_salesperson.id}
        )
        self.assertEqual(newcomer.user_id, self.other_salesperson)
        # Managers move customers between salespeople.
        self.other_customer.with_user(self.other_manager).write(
            {"user_id": self.salesperson.id}
        )
        self.assertEqual(self.other_customer.user_id, self.salesperson)

    # ------------------------------------------------------------------
    # 2. Answers recorded in the back office by managers, who are named
    # ------------------------------------------------------------------

    def test_back_office_answer_keeps_who_recorded_it(self):
        statement = self.sent(self.march())
        statement.with_user(self.other_manager).action_accept("Li Wei")
        self.assertRecordValues(
            statement,
            [
                {
                    "state": "accepted",
                    "accepted_by": "Li Wei",
                    "answer_channel": "backoffice",
                    "answer_recorded_by_id": self.other_manager.id,
                }
            ],
        )

    # ------------------------------------------------------------------
    # 3. What is confirmed is what the ledger says
    # ------------------------------------------------------------------

    def test_confirmation_reads_the_ledger_again(self):
        statement = self.march()
        self.assertEqual(statement.closing_balance, 800.0)
        self.invoice_at("2025-03-20", 150.0)
        statement.with_user(self.other_manager).action_confirm()
        self.assertRecordValues(
            statement,
            [{"state": "confirmed", "closing_balance": 950.0, "entry_count": 2}],
        )
        self.assertIn("Read again from the ledger", str(statement.message_ids[0].body))

    # ------------------------------------------------------------------
    # 4. Salespeople: their own customers only, whatever they send
    # ------------------------------------------------------------------

    def test_salesperson_cannot_reach_another_salespersons_customer(self):
        Statement = self.Statement.with_user(self.salesperson)
        with self.assertRaises(AccessError):
            Statement.create(
                {
                    "partner_id": self.other_customer.id,
                    "user_id": self.salesperson.id,
                    "date_from": date(2025, 3, 1),
                    "date_to": date(2025, 3, 31),
                }
            )
        self.assertFalse(
            self.Statement.search([("partner_id", "=", self.other_customer.id)])
        )
        # Made by a manager with the salesperson as responsible: still out of
        # the salesperson's reach, lines included.
        others = self.march(partner=self.other_customer, user_id=self.salesperson.id)
        self.assertFalse(Statement.search([("id", "=", others.id)]))
        with self.assertRaises(AccessError):
            others.with_user(self.salesperson).read(["closing_balance"])
        with self.assertRaises(AccessError):
            others.line_ids.with_user(self.salesperson).read(["debit"])
        # Nor can an own draft be moved to that customer.
        own = self.make_statement("2025-04-01", "2025-04-30")
        with self.assertRaises(AccessError):
            own.with_user(self.salesperson).write(
                {"partner_id": self.other_customer.id}
            )
        own.invalidate_recordset()
        self.assertEqual(own.partner_id, self.customer)

    # ------------------------------------------------------------------
    # 5. Numbers unique per company; one live statement per period
    # ------------------------------------------------------------------

    def test_numbers_are_unique_in_the_database(self):
        first = self.march()
        second = self.march(partner=self.other_customer)
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            with self.env.cr.savepoint():
                self.env.cr.execute(
                    "UPDATE sale_reconciliation_statement SET name = %s WHERE id = %s",
                    [first.name, second.id],
                )

    def test_a_new_company_has_its_sequences_at_once(self):
        company = self.env["res.company"].create({"name": "Newly Opened Branch"})
        codes = (
            self.env["ir.sequence"]
            .sudo()
            .search([("company_id", "=", company.id)])
            .mapped("code")
        )
        self.assertIn("sale.reconciliation.statement", codes)
        self.assertIn("sale.reconciliation.statement.seal", codes)

    def test_two_generations_of_a_month_at_once_make_each_statement_once(self):
        """Two real transactions generate March for the same customer."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            partner = env["res.partner"].create(
                {"name": "Concurrent Customer", "is_company": True}
            )
            invoice = env["account.move"].create(
                {
                    "move_type": "out_invoice",
                    "partner_id": partner.id,
                    "invoice_date": date(2025, 3, 5),
                    "invoice_line_ids": [
                        Command.create(
                            {"name": "Goods", "quantity": 1, "price_unit": 500.0}
                        )
                    ],
                }
            )
            invoice.action_post()
            company_id = invoice.company_id.id
            partner_id, invoice_id = partner.id, invoice.id
        try:
            self._generate_concurrently(partner_id, company_id)
        finally:
            with self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                cr.execute(
                    "DELETE FROM sale_reconciliation_statement WHERE partner_id = %s",
                    [partner_id],
                )
                invoice = env["account.move"].browse(invoice_id)
                invoice.button_draft()
                invoice.unlink()
                env["res.partner"].browse(partner_id).unlink()

    def _generate_concurrently(self, partner_id, company_id):
        def generate(env, date_from=date(2025, 3, 1)):
            return (
                env["sale.reconciliation.statement"]
                .with_company(company_id)
                ._generate_statements(
                    date_from,
                    date(2025, 3, 31),
                    partners=env["res.partner"].browse(partner_id),
                    company=env["res.company"].browse(company_id),
                )[0]
            )

        with (
            self.registry.cursor() as cr_a,
            self.registry.cursor() as cr_b,
            self.registry.cursor() as cr_c,
        ):
            env_a, env_b, env_c = (
                api.Environment(cr, SUPERUSER_ID, {}) for cr in (cr_a, cr_b, cr_c)
            )
            made_by_a = generate(env_a)
            self.assertEqual(len(made_by_a), 1)
            # While A runs, B is told at once that statements are being made.
            with self.assertRaises(UserError):
                generate(env_b)
            cr_b.rollback()
            # B and C start before A commits: their view of the database
            # predates A's statement.
            for cr in (cr_b, cr_c):
                cr.execute("SELECT 1 FROM res_partner WHERE id = %s", [partner_id])
            cr_a.commit()
            # PostgreSQL refuses B's copy of A's statement, and C's statement
            # of overlapping dates (Odoo retries such a request with a fresh
            # view of the database).
            for env, date_from in (
                (env_b, date(2025, 3, 1)),
                (env_c, date(2025, 3, 16)),
            ):
                with self.subTest(date_from=date_from):
                    with (
                        mute_logger("odoo.sql_db"),
                        self.assertRaises(SerializationFailure),
                    ):
                        generate(env, date_from)
                    env.cr.rollback()
            # A later run sees A's statement and makes nothing.
            self.assertFalse(generate(env_b))
            self.assertFalse(generate(env_c, date(2025, 3, 16)))
            cr_b.rollback()
            cr_c.rollback()
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT COUNT(*), COUNT(DISTINCT name) "
                "FROM sale_reconciliation_statement WHERE partner_id = %s",
                [partner_id],
            )
            self.assertEqual(cr.fetchone(), (1, 1))

    # ------------------------------------------------------------------
    # 6. Seals chained per company
    # ------------------------------------------------------------------

    def accepted_months(self):
        statements = self.Statement
        for month in (3, 4, 5):
            statement = self.make_statement(
                date(2025, month, 1),
                date(2025, month, 1).replace(day=28),
            )
            self.sent(statement).with_user(self.other_manager).action_accept(
                f"Signer {month}"
            )
            statements |= statement
        return statements

    def verify(self, statement):
        return statement.action_verify_hash()["params"]

    def test_seals_chain_and_verification_names_the_first_break(self):
        first, second, third = self.accepted_months()
        self.assertEqual(
            [second.seal_number, third.seal_number],
            [first.seal_number + 1, first.seal_number + 2],
        )
        self.assertEqual(self.verify(third)["type"], "success")
        # Someone with database access changes who accepted the second one.
        self.env.cr.execute(
            "UPDATE sale_reconciliation_statement SET accepted_by = %s WHERE id = %s",
            ["Someone Else", second.id],
        )
        self.Statement.invalidate_model()
        self.assertEqual(self.verify(first)["type"], "success")
        result = self.verify(third)
        self.assertEqual(result["type"], "danger")
        self.assertIn(second.name, result["message"])
        self.assertNotIn(third.name, result["message"])
        # ... and seals it again: the next seal no longer follows it.
        self.env.cr.execute(
            "UPDATE sale_reconciliation_statement SET content_hash = %s WHERE id = %s",
            [second._compute_seal(first.content_hash), second.id],
        )
        self.Statement.invalidate_model()
        result = self.verify(third)
        self.assertEqual(result["type"], "danger")
        self.assertIn(third.name, result["message"])

    def test_seal_covers_the_signature_and_who_recorded_the_answer(self):
        first, second, third = self.accepted_months()
        self.env.cr.execute(
            "UPDATE sale_reconciliation_statement SET answer_recorded_by_id = %s "
            "WHERE id = %s",
            [self.salesperson.id, first.id],
        )
        self.Statement.invalidate_model()
        self.assertIn(first.name, self.verify(first)["message"])

    # ------------------------------------------------------------------
    # 9. A closed month freezes scope and lines, not the conversation
    # ------------------------------------------------------------------

    def close_march(self):
        period = self.env["sale.reconciliation.period"].create(
            {"name": "2025-03", "date_from": "2025-03-01", "date_to": "2025-03-31"}
        )
        period.action_close(
            acknowledged_warnings=[
                item["code"] for item in period._get_closing_checklist()
            ]
        )
        self.assertEqual(period.state, "closed")
        return period

    def test_statements_of_a_closed_month_can_still_be_answered(self):
        accepted = self.sent(self.march())
        disputed = self.sent(self.march(partner=self.other_customer))
        self.close_march()
        accepted.with_user(self.other_manager).action_accept("Li Wei")
        self.assertEqual(accepted.state, "accepted")
        disputed.with_user(self.other_manager).action_dispute("We paid 100")
        action = disputed.with_user(self.other_manager).action_revise()
        revision = self.Statement.browse(action["res_id"])
        self.assertRecordValues(
            revision, [{"state": "draft", "revised_from_id": disputed.id}]
        )
        revision.with_user(self.other_manager).action_confirm()
        revision.with_user(self.other_manager).action_mark_sent()
        revision.with_user(self.other_manager).action_cancel()
        self.assertEqual(revision.state, "cancel")
        # What closing freezes: the dates and the lines.
        with self.assertRaises(UserError):
            revision.with_user(self.other_manager).action_draft()
        with self.assertRaises(UserError):
            self.march(partner=self.other_customer)

    def test_portal_answer_of_a_closed_month(self):
        statement = self.sent(self.march())
        self.close_march()
        portal = new_test_user(
            self.env,
            login="integrity_portal",
            groups="base.group_portal",
            partner_id=self.env["res.partner"]
            .create({"name": "Buyer", "parent_id": self.customer.id})
            .id,
        )
        statement.with_user(portal).sudo()._accept("Buyer", None, channel="portal")
        self.assertRecordValues(
            statement,
            [{"state": "accepted", "answer_channel": "portal", "accepted_by": "Buyer"}],
        )

    # ------------------------------------------------------------------
    # 10. The monthly run never raises
    # ------------------------------------------------------------------

    def test_monthly_run_skips_a_closed_month(self):
        company = self.env.company
        company.write({"statement_auto_generate": True, "statement_generation_day": 1})
        self.close_march()
        Run = self.env["sale.reconciliation.statement.run"]
        with freeze_time("2025-04-01 12:00"):
            self.Statement._cron_generate_statements()
            Run._cron_process_runs()
        self.assertFalse(self.Statement.search([("company_id", "=", company.id)]))
        with freeze_time("2025-05-01 12:00"):
            self.Statement._cron_generate_statements()
            for _call in range(10):
                if not Run.search_count([("state", "=", "running")]):
                    break
                Run._cron_process_runs()
        april = self.Statement.search([("company_id", "=", company.id)])
        self.assertEqual(
            set(april.mapped("date_from")), {fields.Date.to_date("2025-04-01")}
        )
