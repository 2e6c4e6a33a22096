"""Rules of the payment matching (wizards/sale_reconciliation_match.py),
shared with the company settings."""

import re
from itertools import combinations

from odoo import _
from odoo.exceptions import ValidationError

MATCH_RULES = [
    ("reference", "Reference"),
    ("amount", "Exact Amount"),
    ("combination", "Exact Sum of Invoices"),
    ("fifo", "Oldest First"),
]
MATCH_RULE_CODES = [code for code, _label in MATCH_RULES]

# The rules the scheduled action runs: they need no judgement.
AUTOMATIC_RULES = ("reference", "amount")

# The exact-sum search looks at the oldest open invoices of a customer only,
# in groups of at most this many invoices: a bounded search, whatever the
# number of invoices.
COMBINATION_CANDIDATES = 12
COMBINATION_MAX_SIZE = 4

# Customers whose open items are loaded and matched together.
PARTNER_BATCH_SIZE = 200

# Proposals reconciled in one savepoint (wizards/sale_reconciliation_match.py,
# _reconcile_in_batches): each savepoint flushes and runs what a commit runs
# first, so a savepoint per proposal cost a third more than Odoo's own
# reconcile() of the same groups.
RECONCILE_BATCH_SIZE = 100

# Fields of the open journal items read for matching.
OPEN_ITEM_FIELDS = [
    "company_id",
    "partner_id",
    "account_id",
    "move_id",
    "move_name",
    "ref",
    "name",
    "date",
    "date_maturity",
    "currency_id",
    "amount_residual_currency",
]

# A reference (invoice number, payment reference) names an invoice only when
# it has at least MIN_REFERENCE_LENGTH letters and digits; one of letters only
# needs MIN_LETTER_REFERENCE_LENGTH: "ACME" or "JAN" is a word of the memo, not
# a reference, whatever the customer wrote.
MIN_REFERENCE_LENGTH = 3
MIN_LETTER_REFERENCE_LENGTH = 6

NOT_ALPHANUMERIC = re.compile(r"[^0-9A-Z]+")


def reference_words(text):
    """The runs of letters and digits of ``text``, upper case: what stands
    between its separators (spaces, punctuation, any other character)."""
    return [word for word in NOT_ALPHANUMERIC.split((text or "").upper()) if word]


def normalize_reference(text):
    """Upper case, without spaces and separators: "inv/2026 / 0001" and
    "INV20260001" name the same invoice."""
    return "".join(reference_words(text))


def is_reference(key):
    """Whether a normalised ``key`` is long enough to name an invoice on its
    own."""
    if key.isalpha():
        return len(key) >= MIN_LETTER_REFERENCE_LENGTH
    return len(key) >= MIN_REFERENCE_LENGTH


def check_rules(text):
    """Raise a ValidationError unless ``text`` is a valid list of rules."""
    try:
        parse_rules(text)
    except ValueError as error:
        raise ValidationError(
            _(
                'Unknown or repeated matching strategy in "%(rules)s": use '
                "reference, amount, combination and fifo, separated by commas.",
                rules=text,
            )
        ) from error


def parse_rules(text):
    """The rule codes of a comma-separated ``text``, in order; raises
    ValueError on an unknown or repeated code."""
    codes = [code.strip() for code in (text or "").split(",") if code.strip()]
    unknown = [code for code in codes if code not in MATCH_RULE_CODES]
    if unknown or len(set(codes)) != len(codes):
        raise ValueError(unknown)
    return codes


def spans_of_words(words, max_length):
    """Every run of consecutive ``words`` joined without separators, up to
    ``max_length`` characters: what a reference may be written as."""
    spans = set()
    for start in range(len(words)):
        span = ""
        for word in words[start:]:
            span += word
            if len(span) > max_length:
                break
            spans.add(span)
    return spans


def debits_named_by(credit, debits):
    """The open invoices whose number or payment reference the payment's memo,
    reference or label names: the reference, without its separators, is one
    or more whole words of the memo, without theirs ("INV/2025/00012" is
    named by "Payment inv 2025 00012" and by "INV2025/00012", not by
    "INV/2025/000123" nor "XINV/2025/00012"; "ACME" is not named by "MACMEX").
    Letter-only references shorter than MIN_LETTER_REFERENCE_LENGTH name
    nothing."""
    move = credit.move_id
    words = reference_words(
        " ".join(
            filter(None, [credit.ref, credit.name, move.ref, move.payment_reference])
        )
    )
    if not words:
        return []
    keyed = []
    for debit in debits:
        keys = {
            normalize_reference(key)
            for key in (
                debit.move_name,
                debit.move_id.payment_reference,
                debit.move_id.ref,
            )
            if key
        }
        keys = {key for key in keys if is_reference(key)}
        if keys:
            keyed.append((debit, keys))
    if not keyed:
        return []
    spans = spans_of_words(words, max(len(key) for _d, keys in keyed for key in keys))
    return [debit for debit, keys in keyed if keys & spans]


def find_exact_sum(target, candidates, open_units):
    """The first group of 2 to COMBINATION_MAX_SIZE ``candidates`` whose open
    amounts add up exactly to ``target`` (all in currency units)."""
    for size in range(2, COMBINATION_MAX_SIZE + 1):
        for group in combinations(candidates, size):
            if sum(open_units[debit] for debit in group) == target:
                return list(group)
    return []


class CustomerMatcher:
    """One customer's open invoices (debits) and payments or credit notes
    (credits) of one company, on one receivable account and in one currency
    (what Odoo's ``reconcile()`` takes together), and the proposals the rules
    make, each item used at most for what is open on it. Amounts are counted
    in currency units (cents), so equal amounts compare exactly."""

    def __init__(self, rounding, debits, credits):
        self.rounding = rounding
        self.credits = credits
        self.open_debits = {
            line: self._units(line.amount_residual_currency) for line in debits
        }
        self.open_credits = {
            line: -self._units(line.amount_residual_currency) for line in credits
        }
        # (rule, credit line, [debit lines], amount)
        self.proposals = []

    def _units(self, amount):
        return round(amount / self.rounding)

    def remaining_debits(self):
        return [debit for debit, units in self.open_debits.items() if units > 0]

    def apply_rule(self, rule):
        for credit in self.credits:
            if self.open_credits[credit] <= 0:
                continue
            candidates = self.remaining_debits()
            if not candidates:
                return
            chosen = self._choose(rule, credit, candidates)
            if chosen:
                self._propose(rule, credit, chosen)

    def _choose(self, rule, credit, candidates):
        target = self.open_credits[credit]
        if rule == "reference":
            return debits_named_by(credit, candidates)
        if rule == "amount":
            exact = [debit for debit in candidates if self.open_debits[debit] == target]
            return exact if len(exact) == 1 else []
        if rule == "combination":
            return find_exact_sum(
                target, candidates[:COMBINATION_CANDIDATES], self.open_debits
            )
        if rule == "fifo":
            return candidates
        return []

    def _propose(self, rule, credit, chosen):
        """Match ``credit`` with the ``chosen`` debits, in their order, as far
        as it goes."""
        left = self.open_credits[credit]
        matched = []
        for debit in chosen:
            if left <= 0:
                break
            take = min(left, self.open_debits[debit])
            if take <= 0:
                continue
            self.open_debits[debit] -= take
            left -= take
            matched.append(debit)
        if matched:
            amount = (self.open_credits[credit] - left) * self.rounding
            self.open_credits[credit] = left
            self.proposals.append((rule, credit, matched, amount))
