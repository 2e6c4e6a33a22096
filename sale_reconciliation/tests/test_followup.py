from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged

from .common import StatementCommon


class FollowupCommon(StatementCommon):
    """Follow-up levels at 3, 15 and 30 days (the last one putting the
    customer on hold), a credit manager, and helpers."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer.write(
            {"email": "ap@customer.example", "user_id": cls.salesperson.id}
        )
        cls.template = cls.env.ref("sale_reconciliation.mail_template_followup")
        cls.levels = cls._create_levels(cls.env.company)
        cls.reminder, cls.firm, cls.final = cls.levels
        cls.credit_manager = new_test_user(
            cls.env,
            login="followup_credit_manager",
            groups="sale_reconciliation.group_credit_manager",
            company_id=cls.env.company.id,
        )
        cls.other_customer = cls.env["res.partner"].create(
            {
                "name": "Other Salesperson's Customer",
                "email": "other@customer.example",
                "user_id": cls.other_manager.id,
            }
        )
        cls.Profile = cls.env["sale.reconciliation.credit.profile"]

    @classmethod
    def _create_levels(cls, company):
        """The test's levels, in place of the defaults the company got."""
        Level = cls.env["sale.reconciliation.followup.level"]
        Level.with_context(active_test=False).search(
            [("company_id", "=", company.id)]
        ).unlink()
        common = {"company_id": company.id, "mail_template_id": cls.template.id}
        return Level.create(
            [
                dict(
                    common, name="Reminder", days=3, sequence=10, message="Please pay."
                ),
                dict(common, name="Firm", days=15, sequence=20, message="Pay now."),
                dict(
                    common,
                    name="Final",
                    days=30,
                    sequence=30,
                    message="Final notice.",
                    credit_hold=True,
                    create_activity=True,
                ),
            ]
        )

    def profile(self, partner=None, company=None):
        """The customer's follow-up, read afresh (its figures are live)."""
        company = company or self.env.company
        self.Profile._followup_ensure_profiles(company)
        self.Profile.invalidate_model()
        return self.Profile.search(
            [
                ("partner_id", "=", (partner or self.customer).id),
                ("company_id", "=", company.id),
            ]
        )

    def mails_to(self, partner):
        return self.env["mail.mail"].search(
            [("recipient_ids", "in", partner.ids)], order="id"
        )

    def process(self, profiles):
        """Preview then process, as a credit manager does from the list."""
        wizard = (
            self.env["sale.reconciliation.followup.process"]
            .with_user(self.credit_manager)
            .with_context(
                active_model="sale.reconciliation.credit.profile",
                active_ids=profiles.ids,
            )
            .create({})
        )
        wizard.action_process()
        return wizard


@tagged("post_install", "-at_install")
class TestFollowup(FollowupCommon):
    """Invoices due on 2025-03-01 reminded at 3, 15 and 30 days (the last
    one putting the customer on hold), with a friendly reminder 5 days
    before the due date for some tests."""

    # -------------------------------------------------------------------------
    # Levels and dates
    # -------------------------------------------------------------------------

    def test_level_boundaries(self):
        self.invoice_at("2025-02-01", 100.0, due="2025-03-01")
        with freeze_time("2025-03-03"):
            # Not yet at a level: the nightly refresh made its profile.
            self.Profile.sudo()._refresh(self.env.company, self.customer.ids)
            profile = self.profile()
            self.assertRecordValues(
                profile,
                [
                    {
                        "followup_due": False,
                        "followup_next_level_id": False,
                        "followup_next_date": fields.Date.to_date("2025-03-04"),
                        "followup_overdue_amount": 100.0,
                        "followup_oldest_days": 2,
                    }
                ],
            )
        with freeze_time("2025-03-04"):
            profile.invalidate_recordset()
            self.assertRecordValues(
                profile,
                [{"followup_due": True, "followup_next_level_id": self.reminder.id}],
            )
            self.assertIn(profile, self.Profile.search([("followup_due", "=", True)]))

    def test_negative_days_before_due_date(self):
        self.reminder.days = -5
        self.invoice_at("2025-02-01", 100.0, due="2025-03-01")
        with freeze_time("2025-02-23"):
            self.assertFalse(self.profile().followup_due)
        with freeze_time("2025-02-24"):
            profile = self.profile()
            self.assertRecordValues(
                profile,
                [
                    {
                        "followup_due": True,
                        "followup_next_level_id": self.reminder.id,
                        # nothing overdue yet: a friendly reminder
                        "followup_overdue_amount": 0.0,
                    }
                ],
            )

    def test_customer_moves_up_levels(self):
        invoice = self.invoice_at("2025-02-01", 100.0, due="2025-03-01")
        for day, level in (
            ("2025-03-04", self.reminder),
            ("2025-03-16", self.firm),
            ("2025-03-31", self.final),
        ):
            with freeze_time(day):
                profile = self.profile()
                self.assertEqual(profile.followup_next_level_id, level)
                self.process(profile)
                profile.invalidate_recordset()
                self.assertRecordValues(
                    profile,
                    [{"followup_level_id": level.id, "followup_due": False}],
                )
                self.assertEqual(invoice.sudo().followup_level_id, level)
        history = profile.followup_history_ids
        self.assertEqual(history.level_id, self.levels)
        self.assertEqual(history.move_ids, invoice)
        # A level that reminded someone keeps its history: archived, not
        # deleted.
        with self.assertRaisesRegex(UserError, "archive it"):
            self.final.unlink()
        self.assertEqual(history.exists().level_id, self.levels)
        mails = self.mails_to(self.customer)
        self.assertEqual(len(mails), 3, "one email per level, queued")
        self.assertEqual(set(mails.mapped("state")), {"outgoing"})
        self.assertIn("/my/invoices", mails[-1].body_html)
        self.assertIn("Final notice.", mails[-1].body_html)
        # Posted in the customer's chatter.
        self.assertEqual(
            len(
                self.customer.message_ids.filtered(
                    lambda m: m.message_type == "comment"
                )
            ),
            3,
        )

    def test_partial_payment_lowers_overdue_amount(self):
        invoice = self.invoice_at("2025-02-01", 100.0, due="2025-03-01")
        self.pay_at(invoice, "2025-03-02", amount=40.0)
        with freeze_time("2025-03-10"):
            profile = self.profile()
            self.assertEqual(profile.followup_overdue_amount, 60.0)
            self.process(profile)
            self.assertEqual(profile.followup_history_ids.amount, 60.0)
            self.assertIn("60.00", self.mails_to(self.customer).body_html)

    def test_paid_invoice_leaves_followup(self):
        invoice = self.invoice_at("2025-02-01", 100.0, due="2025-03-01")
        with freeze_time("2025-03-10"):
            profile = self.profile()
            self.process(profile)
            self.pay_at(invoice, "2025-03-10")
            profile.invalidate_recordset()
            self.assertRecordValues(
                profile,
                [
                    {
                        "followup_due": False,
                        "followup_overdue_amount": 0.0,
                        "followup_next_date": False,
                    }
                ],
            )
            self.Profile._followup_release(self.env.company)
            self.assertFalse(profile.followup_level_id)

    def test_disputed_invoices_excluded(self):
        invoice = self.invoice_at("2025-02-01", 100.0, due="2025-03-01")
        other = self.invoice_at("2025-02-02", 50.0, due="2025-03-01")
        invoice.followup_disputed = True
        with freeze_time("2025-03-10"):
            profile = self.profile()
            self.assertEqual(profile.followup_overdue_amount, 50.0)
            # Disputed on a statement as well: nothing left to remind.
            statement = self.make_statement("2025-02-01", "2025-02-28")
            statement.action_confirm()
            statement.action_mark_sent()
            line = statement.line_ids.filtered(lambda st_line: st_line.move_id == other)
            statement.action_dispute("Wrong price", {line.id: "Price is 45"})
            profile.invalidate_recordset()
            self.assertRecordValues(
                profile, [{"followup_due": False, "followup_overdue_amount": 0.0}]
            )
            invoice.followup_disputed = False
            profile.invalidate_recordset()
            self.assertRecordValues(
                profile, [{"followup_due": True, "followup_overdue_amount": 100.0}]
            )

    # -------------------------------------------------------------------------
    # Credit hold
    # -------------------------------------------------------------------------

    def test_hold_set_at_last_level_and_lifted_when_paid(self):
        invoice = self.invoice_at("2025-02-01", 100.0, due="2025-03-01")
        partner = self.customer.sudo()
        with freeze_time("2025-04-01"):
            profile = self.profile()
            self.assertEqual(profile.followup_next_level_id, self.final)
            self.process(profile)
            self.assertTrue(partner.credit_hold)
            self.assertTrue(profile.followup_hold)
            self.assertTrue(self.customer.activity_ids)
            self.pay_at(invoice, "2025-04-01")
            self.Profile._followup_release(self.env.company)
            self.assertFalse(partner.credit_hold)
            self.assertFalse(profile.followup_hold)

    def test_manual_hold_not_lifted(self):
        invoice = self.invoice_at("2025-02-01", 100.0, due="2025-03-01")
        self.customer.write({"credit_hold": True, "credit_hold_reason": "Bankruptcy"})
        with freeze_time("2025-04-01"):
            profile = self.profile()
            self.process(profile)
            self.assertFalse(profile.followup_hold)
            self.pay_at(invoice, "2025-04-01")
            self.Profile._followup_release(self.env.company)
            self.assertTrue(self.customer.sudo().credit_hold)

    def test_hold_put_again_by_hand_after_the_followup_is_not_lifted(self):
        """The follow-up held the customer, a credit manager lifted that hold
        and later put their own: the follow-up never lifts it."""
        invoice = self.invoice_at("2025-02-01", 100.0, due="2025-03-01")
        partner = self.customer.sudo()
        with freeze_time("2025-04-01"):
            profile = self.profile()
            self.process(profile)
            self.assertTrue(profile.followup_hold)
            customer = self.customer.with_user(self.credit_manager)
            customer.write({"credit_hold": False})
            customer.write({"credit_hold": True, "credit_hold_reason": "Bankruptcy"})
            self.assertFalse(profile.followup_hold)
            self.pay_at(invoice, "2025-04-01")
            self.Profile._followup_release(self.env.company)
            self.assertRecordValues(
                partner, [{"credit_hold": True, "credit_hold_reason": "Bankruptcy"}]
            )

    def test_reminder_template_is_a_reminder_template(self):
        """The reminder is rendered as superuser with the reminder's id: a
        credit manager cannot choose a template of another model (a user's
        password reset, a partner's data) to have it emailed to a customer."""
        other = self.env["mail.template"].create(
            {
                "name": "Template of Users",
                "model_id": self.env["ir.model"]._get_id("res.users"),
                "subject": "{{ object.login }}",
            }
        )
        level = self.reminder.with_user(self.credit_manager)
        with self.assertRaises(ValidationError):
            level.write({"mail_template_id": other.id})
        with self.assertRaises(ValidationError):
            level.create(
                {
                    "name": "Sneaky",
                    "days": 60,
                    "company_id": self.env.company.id,
                    "mail_template_id": other.id,
                }
            )
        self.assertEqual(self.reminder.mail_template_id, self.template)

    def test_only_readers_of_profiles_open_the_followups(self):
        """Opening the follow-up list makes the missing profiles as
        superuser: a user who may not read profiles (portal, an employee
        outside sales) is refused and makes none."""
        self.invoice_at("2025-02-01", 100.0, due="2025-03-01")
        portal = new_test_user(
            self.env, login="followup_portal", groups="base.group_portal"
        )
        employee = new_test_user(
            self.env, login="followup_employee", groups="base.group_user"
        )
        with freeze_time("2025-03-05"):
            for user in (portal, employee):
                with self.subTest(user=user.login), self.assertRaises(AccessError):
                    self.Profile.with_user(user).action_open_followups()
            self.assertFalse(
                self.Profile.search([("partner_id", "=", self.customer.id)])
            )
            action = self.Profile.with_user(self.salesperson).action_open_followups()
            self.assertEqual(action["res_model"], self.Profile._name)

    # -------------------------------------------------------------------------
    # Email language
    # -------------------------------------------------------------------------

    def test_email_in_customer_language(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.customer.lang = "zh_CN"
        self.reminder.with_context(lang="zh_CN").message = "请尽快付款。"
        self.template.with_context(lang="zh_CN").subject = "付款提醒"
        self.invoice_at("2025-02-01", 100.0, due="2025-03-01")
        with freeze_time("2025-03-05"):
            self.process(self.profile())
        mail = self.mails_to(self.customer)
        self.assertEqual(mail.subject, "付款提醒")
        self.assertIn("请尽快付款。", mail.body_html)
        self.assertNotIn("Please pay.", mail.body_html)

    # -------------------------------------------------------------------------
    # Mass processing
    # -------------------------------------------------------------------------

    def test_run_one_customer_fails_others_go_on(self):
        no_email = self.env["res.partner"].create({"name": "No Email Ltd"})
        self.invoice_at("2025-02-01", 100.0, due="2025-03-01")
        self.invoice_at("2025-02-01", 70.0, due="2025-03-01", partner=no_email)
        self.invoice_at(
            "2025-02-01", 30.0, due="2025-03-01", partner=self.other_customer
        )
        Run = self.env["sale.reconciliation.followup.run"]
        with freeze_time("2025-03-05"):
            self.env["ir.config_parameter"].sudo().set_param(
                "sale_reconciliation.followup_run_chunk_size", "2"
            )
            Run._cron_process()
            run = Run.search([("company_id", "=", self.env.company.id)])
            self.assertEqual(run.state, "running", "a chunk of two, one left")
            Run._cron_process()
            Run._cron_process()
            self.assertRecordValues(run, [{"state": "failed", "sent_count": 2}])
            failed = run.line_ids.filtered(lambda line: line.state == "failed")
            self.assertEqual(failed.partner_id, no_email)
            self.assertIn("No email address", failed.reason)
            self.assertFalse(self.profile(no_email).followup_history_ids)
            self.assertEqual(len(self.mails_to(self.customer)), 1)
            self.assertEqual(len(self.mails_to(self.other_customer)), 1)
            # Resumed or started again the same day, nobody is reminded twice.
            Run._cron_process()
            self.assertEqual(Run.search_count([]), 1)
            self.assertEqual(len(self.mails_to(self.customer)), 1)

    def test_wizard_lists_failure_and_sends_others(self):
        no_email = self.env["res.partner"].create({"name": "No Email Ltd"})
        self.invoice_at("2025-02-01", 100.0, due="2025-03-01")
        self.invoice_at("2025-02-01", 70.0, due="2025-03-01", partner=no_email)
        with freeze_time("2025-03-05"):
            profiles = self.profile() | self.profile(no_email)
            wizard = self.process(profiles)
            self.assertEqual(
                {line.partner_id.name: line.state for line in wizard.line_ids},
                {self.customer.name: "sent", "No Email Ltd": "failed"},
            )
            self.assertIn("email to ap@customer.example", wizard.line_ids[0].summary)

    # -------------------------------------------------------------------------
    # Access
    # -------------------------------------------------------------------------

    def test_salesperson_sees_own_customers_only(self):
        self.invoice_at("2025-02-01", 100.0, due="2025-03-01")
        self.invoice_at(
            "2025-02-01", 30.0, due="2025-03-01", partner=self.other_customer
        )
        with freeze_time("2025-03-05"):
            own, other = self.profile(), self.profile(self.other_customer)
            self.process(own | other)
            Profile = self.Profile.with_user(self.salesperson)
            self.assertEqual(Profile.search([("id", "in", (own | other).ids)]), own)
            History = self.env["sale.reconciliation.followup.history"]
            self.assertEqual(
                History.with_user(self.salesperson).search([]).partner_id,
                self.customer,
            )
            self.assertEqual(History.with_user(self.credit_manager).search_count([]), 2)
            with self.assertRaises(AccessError):
                own.with_user(self.salesperson).followup_excluded = True
            with self.assertRaises(AccessError):
                own.with_user(self.salesperson)._followup_send()
            with self.assertRaises(AccessError):
                self.reminder.with_user(self.salesperson).days = 5
            own.with_user(self.credit_manager).write(
                {"followup_excluded": True, "followup_exclusion_reason": "Lawyer"}
            )
            self.assertFalse(own.followup_due)
            with self.assertRaises(AccessError):
                own.with_user(self.credit_manager).followup_level_id = self.final

    def test_new_company_gets_the_default_levels_translated(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"].search(
            [("name", "=", "sale_reconciliation")]
        )._update_translations(["zh_CN"], overwrite=True)
        company = self.env["res.company"].create({"name": "Branch Ltd"})
        levels = self.env["sale.reconciliation.followup.level"].search(
            [("company_id", "=", company.id)]
        )
        self.assertRecordValues(
            levels,
            [
                {"name": "Payment Reminder", "days": 3, "credit_hold": False},
                {"name": "Firm Reminder", "days": 15, "credit_hold": False},
                {"name": "Final Notice", "days": 30, "credit_hold": True},
            ],
        )
        self.assertEqual(levels[0].with_context(lang="zh_CN").name, "付款提醒")
        self.assertEqual(
            levels.mail_template_id,
            self.env.ref("sale_reconciliation.mail_template_followup"),
        )

    def test_multi_company(self):
        company_2 = self.setup_other_company()["company"]
        self._create_levels(company_2)
        self.invoice_at("2025-02-01", 100.0, due="2025-03-01")
        with freeze_time("2025-03-05"):
            invoice_2 = self.init_invoice(
                "out_invoice",
                partner=self.customer,
                invoice_date=fields.Date.to_date("2025-01-01"),
                amounts=[500.0],
                taxes=[],
                company=company_2,
            )
            invoice_2.invoice_date_due = fields.Date.to_date("2025-02-01")
            invoice_2.action_post()
            profile_1 = self.profile()
            profile_2 = self.profile(company=company_2)
            self.assertEqual(profile_1.followup_overdue_amount, 100.0)
            self.assertEqual(profile_2.followup_overdue_amount, 500.0)
            self.assertEqual(profile_2.followup_next_level_id.company_id, company_2)
            self.process(profile_1)
            self.assertEqual(invoice_2.sudo().followup_level_id.id, False)
            self.assertTrue(profile_2.followup_due)
            # Users of one company see neither the other's follow-ups nor its
            # reminders.
            self.assertFalse(
                self.Profile.with_user(self.credit_manager).search(
                    [("id", "=", profile_2.id)]
                )
            )

    def test_kpi_collected_within_15_days(self):
        invoice = self.invoice_at("2025-02-01", 100.0, due="2025-03-01")
        with freeze_time("2025-03-05"):
            self.process(self.profile())
        self.pay_at(invoice, "2025-03-12", amount=80.0)
        kpi = self.env["sale.reconciliation.followup.kpi"].search(
            [("company_id", "=", self.env.company.id)]
        )
        self.assertRecordValues(
            kpi,
            [
                {
                    "level_id": self.reminder.id,
                    "user_id": self.salesperson.id,
                    "reminder_count": 1,
                    "amount_collected": 80.0,
                    "month": fields.Date.to_date("2025-03-01"),
                }
            ],
        )
