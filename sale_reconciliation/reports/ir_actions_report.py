from odoo import models

# Reports that print one document per wkhtmltopdf call.
ONE_DOCUMENT_PER_CALL_REPORTS = ("sale_reconciliation.report_statement",)


class IrActionsReport(models.Model):
    _inherit = "ir.actions.report"

    def _render_qweb_pdf_prepare_streams(self, report_ref, data, res_ids=None):
        """Statements print one per wkhtmltopdf call; ``_render_qweb_pdf``
        then joins the files in the order of the selection.

        Debian's wkhtmltopdf (built on an unpatched Qt) refuses several
        documents in one call and returns an empty file; the patched build
        accepts both. One call per statement also gives each statement its
        own file to attach, without splitting a joint PDF by its outlines."""
        # EXTENDS base
        report_sudo = self._get_report(report_ref)
        if (
            report_sudo.report_name not in ONE_DOCUMENT_PER_CALL_REPORTS
            or not res_ids
            or len(res_ids) < 2
        ):
            return super()._render_qweb_pdf_prepare_streams(
                report_ref, data, res_ids=res_ids
            )
        collected_streams = {}
        # A statement selected twice prints once, like other reports' records.
        for res_id in dict.fromkeys(res_ids):
            collected_streams.update(
                super()._render_qweb_pdf_prepare_streams(
                    report_ref, dict(data or {}), res_ids=[res_id]
                )
            )
        return collected_streams
