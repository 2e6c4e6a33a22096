"""18.0.1.6.0: the follow-up reminder email lists each instalment in its own
currency, the credits set against them and the online payment link. Its
template is loaded once (noupdate): it is reloaded here from the module's
data, as a new install has it."""


def migrate(cr, version):
    cr.execute(
        """
        UPDATE ir_model_data
           SET noupdate = FALSE
         WHERE module = 'sale_reconciliation'
           AND name = 'mail_template_followup'
        """
    )
