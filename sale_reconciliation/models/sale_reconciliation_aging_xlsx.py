import base64
import io

from xlsxwriter.utility import xl_rowcol_to_cell as cell

from odoo import _, fields, models
from odoo.tools.misc import xlsxwriter

HEADER_ROWS = 4  # title block above the table


class SaleReconciliationAging(models.TransientModel):
    _inherit = "sale.reconciliation.aging"

    def _export_xlsx_attachment(self):
        """An attachment with the aged receivables as an Excel workbook."""
        self.ensure_one()
        # sudo: ir.attachment - the file only holds the lines the user may
        # read (they are read through the ORM); it is kept private.
        return (
            self.env["ir.attachment"]
            .sudo()
            .create(
                {
                    "name": _(
                        "Aged Receivables %(date)s.xlsx",
                        date=fields.Date.to_string(self.date),
                    ),
                    "datas": base64.b64encode(self._export_xlsx_bytes()),
                    "mimetype": "application/vnd.openxmlformats-officedocument."
                    "spreadsheetml.sheet",
                    "public": False,
                }
            )
        )

    def _export_xlsx_bytes(self):
        """One sheet: a customer a row, a bucket a column, totals as
        formulas with their value."""
        self.ensure_one()
        output = io.BytesIO()
        workbook = xlsxwriter.Workbook(output, {"in_memory": True})
        bold = workbook.add_format({"bold": True})
        head = workbook.add_format(
            {"bold": True, "bg_color": "#D9E7F5", "border": 1, "text_wrap": True}
        )
        digits = self.currency_id.decimal_places
        money = workbook.add_format({"num_format": f"#,##0.{'0' * digits}"})
        total_money = workbook.add_format(
            {"num_format": f"#,##0.{'0' * digits}", "bold": True, "top": 1}
        )
        sheet = workbook.add_worksheet(_("Aged Receivables")[:31])
        sheet.write(0, 0, _("Aged Receivables"), bold)
        sheet.write(1, 0, _("Company"))
        sheet.write(1, 1, self.company_id.name)
        sheet.write(2, 0, _("As Of"))
        sheet.write(2, 1, fields.Date.to_string(self.date))
        sheet.write(2, 2, _("Currency"))
        sheet.write(2, 3, self.currency_id.name)

        buckets = self.bucket_ids
        sheet.write(HEADER_ROWS, 0, _("Customer"), head)
        sheet.write(HEADER_ROWS, 1, _("Salesperson"), head)
        for col, bucket in enumerate(buckets, start=2):
            sheet.write(HEADER_ROWS, col, bucket.name, head)
        total_col = len(buckets) + 2
        sheet.write(HEADER_ROWS, total_col, _("Total"), head)

        row = HEADER_ROWS
        column_totals = [0.0] * len(buckets)
        for partner, amounts in self._get_matrix().items():
            row += 1
            sheet.write(row, 0, partner.display_name)
            # The line's salesperson is the customer's (see the lines' query).
            sheet.write(row, 1, partner.user_id.name or "")
            for col, bucket in enumerate(buckets, start=2):
                amount = amounts.get(bucket, 0.0)
                column_totals[col - 2] += amount
                sheet.write_number(row, col, amount, money)
            sheet.write_formula(
                row,
                total_col,
                f"=SUM({cell(row, 2)}:{cell(row, total_col - 1)})",
                money,
                sum(amounts.values()),
            )
        first, last = HEADER_ROWS + 1, row
        sheet.write(row + 1, 0, _("Total"), bold)
        for col in range(2, total_col + 1):
            value = column_totals[col - 2] if col < total_col else sum(column_totals)
            sheet.write_formula(
                row + 1,
                col,
                f"=SUM({cell(first, col)}:{cell(last, col)})"
                if last >= first
                else "=0",
                total_money,
                round(value, digits),
            )
        sheet.set_column(0, 1, 28)
        sheet.set_column(2, total_col, 14)
        sheet.freeze_panes(HEADER_ROWS + 1, 2)
        workbook.close()
        return output.getvalue()
