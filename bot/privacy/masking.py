"""Mask phone and ID-card numbers in text and in nested event data.

Logs and events leave the process (files, log collectors, the event database), so the phone
and ID-card numbers citizens type must not reach them whole. Masked forms keep enough digits
for staff to match a line with a complaint the citizen reads out:

- mobile ``13812345678`` -> ``138****5678`` (first 3 and last 4 digits), with ``+86``/``0086``/``86``
  kept as typed and spaces or dashes kept in place: ``+86 138-1234-5678`` -> ``+86 138-****-5678``;
- landline ``0816-2345678`` -> ``0816-*****78`` (area code and last 2 digits of the local number);
- ID card, 18 characters ``51070319900101123X`` -> ``510*************3X`` and the old 15 digits
  ``510703900101123`` -> ``510**********23`` (the first 3 characters, province and part of the city
  code, and the last 2; spaces between the parts are kept).

Shapes are strict so that the identifiers the assistant needs in logs stay readable: case numbers
(``IP-20261122-7K3QWX``), patent numbers (``ZL201920123456.7``, ``CN108123456A``), trademark
registration numbers (7–8 digits), dates, prices and hotline numbers (12315) never match. A
number only matches as a whole run: no digit may touch it on either side, and a run right after
``<digit>.`` is a fraction (a confidence score), not a phone. Full-width digits (``１３８…``) are
matched too, since raw user text is logged before the NLU folds widths, and so are numbers inside
JSON-escaped log lines (below).
"""

import re
from typing import Any

MASK = "*"


class _Patterns:
    """The compiled patterns for one kind of text: plain, or JSON with non-ASCII characters escaped.

    Rasa's structured log lines are JSON with every non-ASCII character escaped: a number typed in
    full-width digits arrives as ``\\uff11\\uff13…``, and a number right after a Chinese character
    follows an escape that may end in a digit (证 -> ``\\u8bc1``). Both must still match. Matching
    escapes makes every digit an alternation, which triples the cost per line, so plain text (no
    ``\\u`` in it) gets the simpler patterns.
    """

    def __init__(self, json_escapes: bool) -> None:
        self.escapes = json_escapes
        self.d = self.digits("0-9")
        self.sep = self.char(" \\-", "－")
        self.no_digit_after = rf"(?!{self.d})"
        # The leading lookahead is redundant for correctness but lets the engine reject most
        # positions at once: it makes the pattern about six times faster on a typical log line.
        first = r"(?=[+＋(（0-9０-９\\])" if json_escapes else "(?=[+＋(（0-9０-９])"
        self.number = re.compile(
            rf"{first}{self._not_after_number()}(?:{self._id_cards()}|{self._mobile()}|{self._landline()})"
        )
        # Every match holds at least 7 digits in a row or with one separator; most log lines have
        # none, and this cheap scan lets them skip the large pattern.
        self.candidate = re.compile(rf"{self.d}{{3}}{self.sep}?{self.d}{{4}}")
        # Inside a matched number escapes are read whole, so the 0 of ``\\uff0d`` (a dash) is no digit.
        escape = r"|\\u[0-9a-fA-F]{4}" if json_escapes else ""
        self.token = re.compile(rf"(?P<maskable>{self.d}|{self._check_x()}){escape}")

    def _after_escape(self) -> str:
        return r"|(?<=\\u[0-9a-fA-F]{4})" if self.escapes else ""

    def _not_after_number(self) -> str:
        """No digit right before (unless it ends a JSON escape), and not the fraction of a decimal number."""
        pattern = rf"(?:(?<![0-9０-９]){self._after_escape()})(?<![0-9０-９][.．])"
        return pattern + (r"(?<!\\u[fF]{2}1[0-9])" if self.escapes else "")

    def _check_x(self) -> str:
        return self.char("Xx", "Ｘｘ")

    def _id_cards(self) -> str:
        """Second generation: 6-digit region, birth date YYYYMMDD, 3-digit sequence, check character.

        First generation: 6-digit region, birth date YYMMDD, 3-digit sequence. Spaces between the
        parts are common when people copy the number from a photo of the card.
        """
        n, d = self.digits, self.d
        month = rf"(?:{n('0')}{n('1-9')}|{n('1')}{n('0-2')})"
        day = rf"(?:{n('0')}{n('1-9')}|{n('12')}{d}|{n('3')}{n('01')})"
        id18 = (
            rf"{n('1-9')}{d}{{5}} ?{n('12')}{d}{{3}}{month}{day} ?{d}{{3}}(?:{d}|{self._check_x()})"
            rf"(?![0-9A-Za-z０-９Ａ-Ｚａ-ｚ]){self.no_digit_after}"
        )
        id15 = rf"{n('1-9')}{d}{{5}} ?{d}{{2}}{month}{day} ?{d}{{3}}{self.no_digit_after}"
        return rf"(?P<id18>{id18})|(?P<id15>{id15})"

    def _country_code(self) -> str:
        return rf"(?:{self.char('+', '＋')}|{self.digits('0')}{{2}}){self.digits('8')}{self.digits('6')}"

    def _mobile(self) -> str:
        """Mainland mobile: 1[3-9] and 9 more digits, grouped 3-4-4 with optional spaces or dashes."""
        n, d, sep = self.digits, self.d, self.sep
        cc = rf"(?:(?:{self._country_code()}|{n('8')}{n('6')}){sep}?)"
        number = rf"{n('1')}{n('3-9')}{d}{sep}?{d}{{4}}{sep}?{d}{{4}}{self.no_digit_after}"
        return rf"(?P<mobile_cc>{cc})?(?P<mobile>{number})"

    def _landline(self) -> str:
        """010 and 02x have 3-digit area codes, all others 4; local numbers start with 2-9 and have 7 or 8 digits.

        ``+86 816 2345678`` drops the trunk 0.
        """
        n, d, sep = self.digits, self.d, self.sep
        opening, closing = self.char("(", "（"), self.char(")", "）")
        prefix = rf"(?:{self._country_code()}{sep}?{opening}?{n('0')}?|{opening}?{n('0')})"
        area = rf"{prefix}(?:{n('1')}{n('0')}|{n('2')}{d}|{n('3-9')}{d}{{2}}){closing}?"
        local = rf"{n('2-9')}{d}{{6,7}}{self.no_digit_after}"
        not_after_letter = rf"(?:(?<![A-Za-z]){self._after_escape()})"
        return rf"{not_after_letter}(?P<area>{area})(?P<local_sep>{sep}?)(?P<local>{local})"

    def char(self, ascii_chars: str, wide_chars: str) -> str:
        """A pattern for any of the given characters (and, in JSON, the escapes of the wide ones)."""
        escaped = "".join(rf"|\\u{ord(ch):04x}" for ch in wide_chars) if self.escapes else ""
        return rf"(?:[{ascii_chars}{wide_chars}]{escaped})"

    def digits(self, ascii_set: str) -> str:
        """A pattern for the digits in ascii_set (``3-9``), their full-width forms and, in JSON, their escapes."""
        wide = "".join(chr(ord(ch) + 0xFEE0) if ch.isdigit() else ch for ch in ascii_set)
        escaped = rf"|\\u[fF]{{2}}1[{ascii_set}]" if self.escapes else ""
        return rf"(?:[{ascii_set}{wide}]{escaped})"

    def mask(self, text: str) -> str:
        if not self.candidate.search(text):
            return text
        return self.number.sub(self._replace, text)

    def _replace(self, match: re.Match) -> str:
        if match.group("id18") is not None:
            return self._keep_ends(match.group("id18"), 3, 2)
        if match.group("id15") is not None:
            return self._keep_ends(match.group("id15"), 3, 2)
        if match.group("mobile") is not None:
            return (match.group("mobile_cc") or "") + self._keep_ends(match.group("mobile"), 3, 4)
        return match.group("area") + match.group("local_sep") + self._keep_ends(match.group("local"), 0, 2)

    def _keep_ends(self, text: str, head: int, tail: int) -> str:
        """Replace every digit (and check character X) of text with MASK except the first head and last tail.

        Separators stay where they are, so a masked number keeps the shape the citizen typed.
        """
        digits = [token for token in self.token.finditer(text) if token.group("maskable")]
        hidden = digits[head : len(digits) - tail]
        pieces, kept_from = [], 0
        for token in hidden:
            pieces += [text[kept_from : token.start()], MASK]
            kept_from = token.end()
        pieces.append(text[kept_from:])
        return "".join(pieces)


_PLAIN = _Patterns(json_escapes=False)
_JSON_ESCAPED = _Patterns(json_escapes=True)


def mask_text(text: str) -> str:
    """Return text with every mobile, landline and ID-card number masked; other text is unchanged."""
    if not text:
        return text
    return (_JSON_ESCAPED if "\\u" in text else _PLAIN).mask(text)


def mask_data(value: Any) -> Any:
    """Return a copy of value with every string inside (dict values, list and tuple items) masked.

    Dict keys are left alone: they are field and slot names, and masking them could merge two.
    Numbers are left alone too: a consumer expects the type it was given.
    """
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {key: mask_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_data(item) for item in value]
    if isinstance(value, tuple):
        return tuple(mask_data(item) for item in value)
    return value
