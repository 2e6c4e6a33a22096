from odoo.tests import tagged

from .common import StatementCommon


@tagged("post_install", "-at_install")
class TestStatementTranslations(StatementCommon):
    """A customer whose language is Chinese receives a Chinese statement: the
    PDF's text, its document labels and the email, in Simplified and in
    Traditional Chinese."""

    EXPECTED = {
        "zh_CN": {
            "title": "对账单",
            "closing": "期末余额",
            "opening": "期初余额",
            "document": "发票",
            "subject": "对账单",
            "body": "请与贵司账目核对后确认",
        },
        "zh_TW": {
            "title": "對帳單",
            "closing": "期末餘額",
            "opening": "期初餘額",
            "document": "發票",
            "subject": "對帳單",
            "body": "請與貴司帳目核對後確認",
        },
    }

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.invoice_at("2025-06-03", 100.0)
        for lang in cls.EXPECTED:
            cls.env["res.lang"]._activate_lang(lang)
        cls.env["ir.module.module"].search(
            [("name", "=", "sale_reconciliation")]
        )._update_translations(list(cls.EXPECTED), overwrite=True)

    def test_statement_and_email_in_each_language(self):
        statement = self.make_statement("2025-06-01", "2025-06-30")
        template = self.env.ref("sale_reconciliation.mail_template_statement")
        english_html = (
            self.env["ir.actions.report"]
            ._render_qweb_html("sale_reconciliation.report_statement", statement.ids)[0]
            .decode()
        )
        self.assertIn("Statement of Account", english_html)
        for lang, words in self.EXPECTED.items():
            with self.subTest(lang=lang):
                self.customer.lang = lang
                html = (
                    self.env["ir.actions.report"]
                    ._render_qweb_html(
                        "sale_reconciliation.report_statement", statement.ids
                    )[0]
                    .decode()
                )
                for key in ("title", "closing", "opening", "document"):
                    self.assertIn(words[key], html, key)
                self.assertNotIn("Statement of Account", html)
                subject = template._render_field(
                    "subject", statement.ids, compute_lang=True
                )[statement.id]
                body = template._render_field(
                    "body_html", statement.ids, compute_lang=True
                )[statement.id]
                self.assertIn(words["subject"], subject)
                self.assertIn(words["body"], body)
                self.assertIn(statement.name, subject)
