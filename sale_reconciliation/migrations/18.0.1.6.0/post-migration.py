"""18.0.1.6.0: each receivable item (instalment) keeps the follow-up level it
reached, where an invoice kept one for all its instalments. The items of an
invoice already reminded start at the invoice's level, so that none of them
is reminded again at a level the customer already received."""


def migrate(cr, version):
    cr.execute(
        """
        UPDATE account_move_line line
           SET followup_level_id = move.followup_level_id
          FROM account_move move, account_account account
         WHERE move.id = line.move_id
           AND account.id = line.account_id
           AND account.account_type = 'asset_receivable'
           AND move.followup_level_id IS NOT NULL
           AND line.followup_level_id IS NULL
        """
    )
