from odoo import api, models
from odoo.tools import float_round, formatLang

NBSP = "\N{NO-BREAK SPACE}"
# Groupings Python's "," format gives directly (thousands).
SIMPLE_GROUPINGS = ("[3,0]", "[3,3]", "[3]")
# Fonts of the PDF. wkhtmltopdf (Qt) embeds a subset only of fonts installed
# on the system; the web fonts of Odoo's report styles (Lato, the company's
# font) it draws glyph by glyph as paths: a statement then weighs about a
# megabyte and its text cannot be searched or copied. So the PDF names
# installed fonts: DejaVu Sans (any Debian with fontconfig) and, for Chinese,
# Japanese and Korean, the Noto CJK face of the customer's script
# (fonts-noto-cjk).
PDF_LATIN_FONTS = ("Liberation Sans", "DejaVu Sans")
PDF_CJK_FONTS = {
    "zh_CN": "Noto Sans CJK SC",
    "zh_SG": "Noto Sans CJK SC",
    "zh_TW": "Noto Sans CJK TC",
    "zh_HK": "Noto Sans CJK HK",
    "ja_JP": "Noto Sans CJK JP",
    "ko_KR": "Noto Sans CJK KR",
    "ko_KP": "Noto Sans CJK KR",
}


class StatementFormatter:
    """Formats the many amounts and dates of statements fast, in the
    customer's language: a statement has a few cells per journal item, and
    Odoo's field widgets cost a fraction of a millisecond each."""

    def __init__(self, env, lang_code, currency):
        self.env = env
        lang = env["res.lang"]._get_data(code=lang_code)
        if not lang:
            lang = env["res.lang"]._get_data(code="en_US")
        self.thousands_sep = lang.thousands_sep or ""
        self.decimal_point = lang.decimal_point or "."
        self.simple = (lang.grouping or "[3,0]").replace(" ", "") in SIMPLE_GROUPINGS
        self.date_format = lang.date_format or "%m/%d/%Y"
        self.currency = currency
        self.digits = currency.decimal_places

    def number(self, value, digits=2):
        value = float_round(value or 0.0, precision_digits=digits)
        if not self.simple:
            return formatLang(self.env, value, digits=digits)
        text = f"{value:,.{digits}f}"
        return (
            text.replace(",", "\0")
            .replace(".", self.decimal_point)
            .replace("\0", self.thousands_sep)
        )

    def money(self, value):
        text = self.number(value, self.digits)
        symbol = self.currency.symbol or ""
        if self.currency.position == "after":
            return f"{text}{NBSP}{symbol}"
        return f"{symbol}{NBSP}{text}"

    def date(self, value):
        return value.strftime(self.date_format) if value else ""


class ReportStatement(models.AbstractModel):
    _name = "report.sale_reconciliation.report_statement"
    _description = "Customer Statement Report"

    @api.model
    def _get_report_values(self, docids, data=None):
        docs = self.env["sale.reconciliation.statement"].browse(docids)
        docs.line_ids.fetch(
            ["display_type", "date", "date_maturity", "document_type", "name"]
            + ["reference", "sale_order_refs", "debit", "credit", "balance"]
            + ["amount_residual", "product_id", "quantity", "product_uom_id"]
            + ["price_unit", "price_subtotal", "qty_delivered"]
        )
        return {
            "doc_ids": docs.ids,
            "doc_model": "sale.reconciliation.statement",
            "docs": docs,
            "formatters": {
                doc.id: StatementFormatter(
                    self.env, doc.partner_id.lang or self.env.lang, doc.currency_id
                )
                for doc in docs
            },
            "document_labels": {
                doc.id: self._get_document_labels(doc.partner_id.lang or self.env.lang)
                for doc in docs
            },
            "pdf_font_styles": {
                doc.id: self._get_pdf_font_style(doc.partner_id.lang or self.env.lang)
                for doc in docs
            },
        }

    @api.model
    def _get_document_labels(self, lang):
        field = self.env["sale.reconciliation.statement.line"]._fields["document_type"]
        return dict(field._description_selection(self.with_context(lang=lang).env))

    @api.model
    def _get_pdf_font_style(self, lang):
        """The font family of a statement's PDF in ``lang``: a customer's
        script first (Chinese, Japanese or Korean, whose fonts also carry
        Latin letters), then the Latin fonts, then the Chinese font for a
        Chinese name on a statement in another language."""
        cjk = PDF_CJK_FONTS.get(lang)
        families = (
            [cjk, *PDF_LATIN_FONTS]
            if cjk
            else [*PDF_LATIN_FONTS, PDF_CJK_FONTS["zh_CN"]]
        )
        names = ", ".join(f"'{family}'" for family in families)
        return f"font-family: {names}, sans-serif;"
