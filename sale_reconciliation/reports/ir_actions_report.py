from odoo import models

# Reports that print one document per wkhtmltopdf call.
ONE_DOCUMENT_PER_CALL_REPORTS = (
    "sale_reconciliation.report_statement",
    "sale_reconciliation.report_followup_letter",
)

# The module's PDF reports run no script in their pages (the header's and
# footer's page numbers are filled on load): wkhtmltopdf need not wait the
# second Odoo gives every report for scripts (report.print_delay), which was
# most of a statement's rendering time.
SCRIPTLESS_REPORTS = (
    "sale_reconciliation.report_statement",
    "sale_reconciliation.report_followup_letter",
    "sale_reconciliation.report_aging",
    "sale_reconciliation.report_collection_summary",
    "sale_reconciliation.report_collection_handover",
    "sale_reconciliation.report_period_closing",
)
# How long wkhtmltopdf waits for scripts, in ms, as a report-specific
# wkhtmltopdf argument (as data-report-dpi and the others).
PRINT_DELAY_ARG = "data-report-javascript-delay"


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

    def _run_wkhtmltopdf(
        self,
        bodies,
        report_ref=False,
        header=None,
        footer=None,
        landscape=False,
        specific_paperformat_args=None,
        set_viewport_size=False,
    ):
        # EXTENDS base
        if (
            report_ref
            and self._get_report(report_ref).report_name in SCRIPTLESS_REPORTS
        ):
            specific_paperformat_args = dict(
                specific_paperformat_args or {}, **{PRINT_DELAY_ARG: "0"}
            )
        return super()._run_wkhtmltopdf(
            bodies,
            report_ref=report_ref,
            header=header,
            footer=footer,
            landscape=landscape,
            specific_paperformat_args=specific_paperformat_args,
            set_viewport_size=set_viewport_size,
        )

    def _build_wkhtmltopdf_args(
        self,
        paperformat_id,
        landscape,
        specific_paperformat_args=None,
        set_viewport_size=False,
    ):
        # EXTENDS base
        command_args = super()._build_wkhtmltopdf_args(
            paperformat_id,
            landscape,
            specific_paperformat_args=specific_paperformat_args,
            set_viewport_size=set_viewport_size,
        )
        delay = (specific_paperformat_args or {}).get(PRINT_DELAY_ARG)
        if delay is not None and "--javascript-delay" in command_args:
            command_args[command_args.index("--javascript-delay") + 1] = delay
        return command_args
