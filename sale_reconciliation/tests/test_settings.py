from lxml import etree

from odoo.exceptions import ValidationError
from odoo.tests import Form, TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestSettings(TransactionCase):
    def setUp(self):
        super().setUp()
        self.company = self.env.company
        self.cron = self.env.ref("sale_reconciliation.ir_cron_match_payments")

    def test_settings_write_the_company_options(self):
        with Form(self.env["res.config.settings"]) as settings:
            settings.statement_review_required = True
            settings.closing_quotations_blocking = True
            settings.aging_bucket_limits = "15,45"
            settings.match_rules = "reference,amount"
        self.assertRecordValues(
            self.company,
            [
                {
                    "statement_review_required": True,
                    "aging_bucket_limits": "15,45",
                    "match_rules": "reference,amount",
                }
            ],
        )
        self.assertIn("quotations", self.company._get_closing_blocking_items())

    def test_bad_aging_buckets_change_nothing(self):
        before = self.company.aging_bucket_limits
        with self.assertRaises(ValidationError):
            self.env["res.config.settings"].create(
                {"aging_bucket_limits": "60,30", "statement_review_required": True}
            ).execute()
        self.assertEqual(self.company.aging_bucket_limits, before)
        self.assertFalse(self.company.statement_review_required)

    def test_automatic_matching_turns_the_scheduled_action_on_and_off(self):
        self.assertFalse(self.cron.active, "off after installation")
        self.assertFalse(
            self.env["res.config.settings"].create({}).match_payments_automatically
        )
        self.env["res.config.settings"].create(
            {"match_payments_automatically": True}
        ).execute()
        self.assertTrue(self.cron.active)
        self.assertTrue(
            self.env["res.config.settings"].create({}).match_payments_automatically
        )
        self.env["res.config.settings"].create(
            {"match_payments_automatically": False}
        ).execute()
        self.assertFalse(self.cron.active)

    def test_monthly_statements_turn_their_scheduled_action_on_and_off(self):
        cron = self.env.ref("sale_reconciliation.ir_cron_generate_statements")
        self.assertFalse(cron.active, "off after installation")
        self.env["res.config.settings"].create(
            {"statement_auto_generate": True}
        ).execute()
        self.assertTrue(self.company.statement_auto_generate)
        self.assertTrue(cron.active)
        self.env["res.config.settings"].create(
            {"statement_auto_generate": False}
        ).execute()
        self.assertFalse(cron.active)

    def test_one_section_every_setting_explained(self):
        arch = etree.fromstring(
            self.env["res.config.settings"].get_view(view_type="form")["arch"]
        )
        [app] = arch.xpath("//app[@name='sale_reconciliation']")
        self.assertEqual(app.get("string"), "Sales Reconciliation")
        settings = app.xpath(".//setting")
        self.assertGreaterEqual(len(settings), 12)
        unexplained = [
            setting.get("id") for setting in settings if not setting.get("help")
        ]
        self.assertEqual(unexplained, [])
        fields_shown = set(app.xpath(".//field/@name"))
        own_fields = {
            name
            for name, field in self.env["res.config.settings"]._fields.items()
            if field._module == "sale_reconciliation"
        }
        self.assertEqual(own_fields - fields_shown, set(), "options not in the section")
