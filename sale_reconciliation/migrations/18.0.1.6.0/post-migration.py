"""18.0.1.6.0: each receivable item (instalment) keeps the follow-up level it
reached, where an invoice kept one for all its instalments. An instalment of
an invoice already reminded starts at the highest level its own age had
reached on the day of one of those reminders, and no higher than its
invoice's level: one not yet due then starts at none.

The reminder email now lists each instalment in its own currency, the
credits set against them and the online payment link. Its template is
loaded once (noupdate): the module's own, left unchanged by the company, is
replaced here with the new one and its translations; a template the company
changed is left as it is."""

from lxml import etree

from odoo import SUPERUSER_ID, api
from odoo.tools.misc import file_path
from odoo.tools.translate import TranslationImporter

TEMPLATE_XMLID = "sale_reconciliation.mail_template_followup"


def migrate(cr, version):
    _stamp_instalments(cr)
    _renew_template(api.Environment(cr, SUPERUSER_ID, {}))


def _renew_template(env):
    template = env.ref(TEMPLATE_XMLID, raise_if_not_found=False)
    body = template.with_context(lang="en_US").body_html if template else None
    # The 18.0.1.5.0 body, as the module gave it: its lines in the company's
    # currency.
    if (
        not body
        or "object._get_totals()" in body
        or ("format_amount(line['residual'], object.currency_id)" not in body)
    ):
        return
    data = etree.parse(
        file_path("sale_reconciliation/data/sale_reconciliation_followup_data.xml")
    )
    [node] = data.xpath(
        "//record[@id='mail_template_followup']/field[@name='body_html']"
    )
    template.with_context(lang="en_US").body_html = "".join(
        etree.tostring(child, method="html", encoding="unicode") for child in node
    )
    # Written now: the translations below are saved in SQL.
    template.flush_recordset(["body_html"])
    languages = [code for code, _name in env["res.lang"].get_installed()]
    importer = TranslationImporter(env.cr, verbose=False)
    for lang in languages:
        for base in (lang.split("_")[0], lang):
            try:
                path = file_path(f"sale_reconciliation/i18n/{base}.po")
            except FileNotFoundError:
                continue
            importer.load_file(path, lang, xmlids=[TEMPLATE_XMLID])
    importer.save(overwrite=True, force_overwrite=True)
    template.invalidate_recordset(["body_html"])


def _stamp_instalments(cr):
    cr.execute(
        """
        UPDATE account_move_line line
           SET followup_level_id = reached.level_id
          FROM (
              SELECT DISTINCT ON (line.id) line.id AS line_id,
                     level.id AS level_id
                FROM account_move_line line
                JOIN account_account account ON account.id = line.account_id
                JOIN account_move move ON move.id = line.move_id
                JOIN sale_reconciliation_followup_level move_level
                  ON move_level.id = move.followup_level_id
                JOIN sale_reconciliation_followup_history_move_rel rel
                  ON rel.account_move_id = move.id
                JOIN sale_reconciliation_followup_history history
                  ON history.id = rel.sale_reconciliation_followup_history_id
                JOIN sale_reconciliation_followup_level level
                  ON level.company_id = move_level.company_id
                 AND level.days <= move_level.days
                 AND level.days <= history.date - line.date_maturity
               WHERE account.account_type = 'asset_receivable'
                 AND line.date_maturity IS NOT NULL
                 AND line.followup_level_id IS NULL
               ORDER BY line.id, level.days DESC, level.id DESC
          ) reached
         WHERE line.id = reached.line_id
        """
    )
