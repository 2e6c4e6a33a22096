import io
import re
import subprocess
import tempfile
from unittest.mock import patch

from lxml import html as lxml_html

from odoo import fields, http
from odoo.tests import HttpCase, tagged
from odoo.tools.pdf import PdfFileReader

from .common import StatementCommon

REPORT = "sale_reconciliation.report_statement"
# The statement of one month of a customer fits a page; its PDF must be light
# enough to send every month to every customer.
MAX_PDF_BYTES = 150 * 1024
# A subset font program holds the glyphs the document uses; a whole Latin
# font file is several hundred kilobytes (DejaVuSans.ttf: 742 KB).
MAX_FONT_PROGRAM_BYTES = 60 * 1024
# PDF subset fonts are named with six capital letters and a plus sign.
SUBSET_TAG = re.compile(r"^/?[A-Z]{6}\+")
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]*)</word>')


def pdf_text(pdf, *options):
    """The text of a PDF as poppler's ``pdftotext`` reads it, as a reader
    copying it would get it."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(pdf)
        file.flush()
        return subprocess.run(
            ["pdftotext", *options, file.name, "-"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout


def pdf_fonts(pdf):
    """(name in the font descriptor, font program bytes) of every font the
    pages of the PDF use."""
    fonts = {}
    for page in PdfFileReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"].get("/Font", {}).values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            if descendants:
                font = descendants[0].get_object()
            descriptor = font["/FontDescriptor"].get_object()
            program = next(
                (
                    descriptor[key].get_object()
                    for key in ("/FontFile2", "/FontFile3", "/FontFile")
                    if key in descriptor
                ),
                None,
            )
            fonts[str(descriptor["/FontName"])] = (
                len(program.get_data()) if program is not None else 0
            )
    return fonts


@tagged("post_install", "-at_install")
class TestStatementPdf(StatementCommon, HttpCase):
    """The statement as the customer receives it: a real PDF through
    wkhtmltopdf (the report's styles served by Odoo), light, with its text
    as text, the company named on the page whatever the wkhtmltopdf build,
    and several statements printed together in one file."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.write(
            {"name": "Ledger Works Ltd", "street": "12 Reconciliation Lane"}
        )
        cls.salesperson.name = "Marguerite Salesperson"
        cls.customer.user_id = cls.salesperson
        cls.march_invoice = cls.invoice_at("2025-03-05", 1234.5)
        # wkhtmltopdf loads the report's styles from this test server.
        cls.env["ir.config_parameter"].set_param("report.url", cls.base_url())
        # The server's first requests read every addon's manifest (the static
        # paths); wkhtmltopdf asks for two style sheets at once, and two
        # threads parsing manifests together trip a CPython 3.11.7 bug
        # ("AST constructor recursion depth mismatch"): read them here once.
        cls.static_paths = http.root.statics

    def render_pdf(self, statements):
        pdf, report_format = (
            self.env["ir.actions.report"]
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf(REPORT, statements.ids)
        )
        self.assertEqual(report_format, "pdf")
        return pdf

    def render_html(self, statements):
        return self.env["ir.actions.report"]._render_qweb_html(REPORT, statements.ids)[
            0
        ]

    def assertLightPdfWithText(self, pdf, *texts):
        self.assertLessEqual(len(pdf), MAX_PDF_BYTES)
        text = pdf_text(pdf)
        for expected in texts:
            self.assertIn(expected, text)
        fonts = pdf_fonts(pdf)
        self.assertTrue(fonts, "the text is written in fonts, not drawn as paths")
        for name, size in fonts.items():
            self.assertRegex(name, SUBSET_TAG)
            self.assertGreater(size, 0, f"{name} is embedded")
            self.assertLessEqual(size, MAX_FONT_PROGRAM_BYTES, name)
        return fonts

    # -------------------------------------------------------------------------
    # The PDF file
    # -------------------------------------------------------------------------

    def test_one_page_statement_is_light_with_subset_fonts(self):
        self.pay_at(self.march_invoice, "2025-03-18", 234.5)
        statement = self.make_statement("2025-03-01", "2025-03-31")
        pdf = self.render_pdf(statement)
        self.assertEqual(len(PdfFileReader(io.BytesIO(pdf)).pages), 1)
        self.assertLightPdfWithText(
            pdf,
            statement.name,
            self.customer.name,
            "Ledger Works Ltd",
            "12 Reconciliation Lane",
            "1,234.50",
            "Your contact",
            "Marguerite Salesperson",
        )

    def test_chinese_statements_print_in_a_chinese_font(self):
        expected = {
            "zh_CN": ("对账单", "NotoSansCJKsc"),
            "zh_TW": ("對帳單", "NotoSansCJKtc"),
        }
        for lang in expected:
            self.env["res.lang"]._activate_lang(lang)
        self.env["ir.module.module"].search(
            [("name", "=", "sale_reconciliation")]
        )._update_translations(list(expected), overwrite=True)
        self.customer.name = "深圳市对账贸易有限公司"
        statement = self.make_statement("2025-03-01", "2025-03-31")
        for lang, (title, font) in expected.items():
            with self.subTest(lang=lang):
                self.customer.lang = lang
                fonts = self.assertLightPdfWithText(
                    self.render_pdf(statement), title, self.customer.name
                )
                self.assertTrue(
                    any(font in name for name in fonts), f"{font} in {fonts}"
                )

    def test_three_statements_print_as_one_pdf(self):
        """Debian's wkhtmltopdf (unpatched Qt) refuses several documents in
        one call: each statement has its own call, and the PDFs are joined
        in the order of the selection."""
        statements = self.make_statement("2025-03-01", "2025-03-31")
        for name in ("Second Buyer", "Third Buyer"):
            buyer = self.env["res.partner"].create({"name": name, "is_company": True})
            self.invoice_at("2025-03-09", 70.0, partner=buyer)
            statements |= self.make_statement("2025-03-01", "2025-03-31", partner=buyer)
        report_class = type(self.env["ir.actions.report"])
        calls = []
        original = report_class._run_wkhtmltopdf

        def run_wkhtmltopdf(report, bodies, *args, **kwargs):
            calls.append(len(bodies))
            return original(report, bodies, *args, **kwargs)

        with patch.object(report_class, "_run_wkhtmltopdf", run_wkhtmltopdf):
            pdf = self.render_pdf(statements)
        self.assertEqual(calls, [1, 1, 1])
        self.assertTrue(pdf.startswith(b"%PDF"))
        self.assertGreaterEqual(len(PdfFileReader(io.BytesIO(pdf)).pages), 3)
        text = pdf_text(pdf)
        positions = [text.find(statement.name) for statement in statements]
        self.assertNotIn(-1, positions)
        self.assertEqual(positions, sorted(positions))
        for name in (self.customer.name, "Second Buyer", "Third Buyer"):
            self.assertIn(name, text)

    def test_statement_prints_without_waiting_for_scripts(self):
        """Odoo gives every report's scripts a second (report.print_delay)
        before wkhtmltopdf prints; the statement runs none and prints at
        once, while Odoo's own reports keep their delay."""
        statement = self.make_statement("2025-03-01", "2025-03-31")
        self.env["ir.config_parameter"].set_param("report.print_delay", "800")
        commands = []
        original = subprocess.Popen

        def popen(args, *popen_args, **kwargs):
            if "--javascript-delay" in args:
                commands.append(args)
            return original(args, *popen_args, **kwargs)

        def print_delays(report, records):
            commands.clear()
            with patch(
                "odoo.addons.base.models.ir_actions_report.subprocess.Popen", popen
            ):
                pdf, _format = (
                    self.env["ir.actions.report"]
                    .with_context(force_report_rendering=True)
                    ._render_qweb_pdf(report, records.ids)
                )
            self.assertTrue(pdf.startswith(b"%PDF"))
            return [args[args.index("--javascript-delay") + 1] for args in commands]

        self.assertEqual(print_delays(REPORT, statement), ["0"])
        self.assertEqual(
            print_delays("account.account_invoices", self.march_invoice), ["800"]
        )

    def test_aging_headings_sit_on_one_line(self):
        statement = self.make_statement("2025-03-01", "2025-03-31")
        headings = statement.aging_ids.mapped("name") + ["Overdue"]
        words = [
            (word, float(y_min))
            for _x, y_min, word in WORD.findall(
                pdf_text(self.render_pdf(statement), "-bbox")
            )
        ]
        heading_words = " ".join(headings).split()
        start = next(
            (
                index
                for index in range(len(words))
                if [word for word, _y in words[index : index + len(heading_words)]]
                == heading_words
            ),
            None,
        )
        self.assertIsNotNone(start, f"{heading_words} in one row of {words}")
        heights = {
            round(y_min, 1)
            for _word, y_min in words[start : start + len(heading_words)]
        }
        self.assertEqual(len(heights), 1, heights)

    # -------------------------------------------------------------------------
    # The page as the customer reads it
    # -------------------------------------------------------------------------

    def test_company_and_contact_printed_in_the_page_body(self):
        """The page body is what every wkhtmltopdf build prints (Debian's
        ignores the separate header)."""
        statement = self.make_statement("2025-03-01", "2025-03-31")
        root = lxml_html.fromstring(self.render_html(statement))
        article = root.xpath("//div[contains(concat(' ', @class, ' '), ' article ')]")
        self.assertEqual(len(article), 1)
        body_text = article[0].text_content()
        for text in ("Ledger Works Ltd", "12 Reconciliation Lane", self.customer.name):
            self.assertIn(text, body_text)
        informations = article[0].xpath(".//*[@id='informations']")[0]
        self.assertRegex(
            " ".join(informations.text_content().split()),
            r"Your contact Marguerite Salesperson",
        )
        self.assertNotIn(
            "Contact", informations.text_content().replace("Your contact", "")
        )

    def test_goods_rows_stay_out_of_the_debit_and_credit_columns(self):
        order = self.create_order([(self.product_ordered, 4)])
        self.deliver(order, [3])
        invoice = self.invoice(order, post=False)
        invoice.invoice_date = fields.Date.to_date("2025-03-25")
        invoice.invoice_date_due = invoice.invoice_date
        invoice.action_post()
        statement = self.make_statement(
            "2025-03-01", "2025-03-31", statement_type="detailed"
        )
        root = lxml_html.fromstring(self.render_html(statement))
        table = root.xpath("//table[@name='statement_lines']")[0]
        headings = [" ".join(th.text_content().split()) for th in table.xpath(".//th")]
        amount_columns = {
            headings.index(label) for label in ("Debit", "Credit", "Balance", "Open")
        }
        goods_rows = [
            row
            for row in table.xpath(".//tbody/tr")
            if self.product_ordered.name in row.text_content()
        ]
        self.assertEqual(len(goods_rows), 1)
        column, amount_cells = 0, []
        for cell in goods_rows[0].xpath("./td"):
            span = int(cell.get("colspan", 1))
            if amount_columns & set(range(column, column + span)):
                amount_cells.append(cell.text_content().strip())
            column += span
        self.assertEqual(column, len(headings))
        self.assertEqual(set(amount_cells), {""})
        # The goods amount is still there, in the row's own text.
        self.assertIn("200.00", goods_rows[0].text_content())
        entry_rows = [
            row
            for row in table.xpath(".//tbody/tr")
            if invoice.name in row.text_content()
        ]
        debit = entry_rows[0].xpath("./td")[headings.index("Debit")]
        self.assertIn("200.00", debit.text_content())
