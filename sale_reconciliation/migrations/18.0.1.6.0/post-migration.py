"""18.0.1.6.0: each receivable item (instalment) keeps the follow-up level it
reached, where an invoice kept one for all its instalments. An instalment of
an invoice already reminded starts at the highest level its own age had
reached on the day of one of those reminders, and no higher than its
invoice's level: one not yet due then starts at none. The reminder email
template, reloaded by this update, is again left to the company's changes."""


def migrate(cr, version):
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
    cr.execute(
        """
        UPDATE ir_model_data
           SET noupdate = TRUE
         WHERE module = 'sale_reconciliation'
           AND name = 'mail_template_followup'
        """
    )
