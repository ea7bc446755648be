"""Normalising what people type, so that two spellings of one name or number compare equal.

Names are compared after NFC normalisation, trimming, removing spaces and case folding; Khmer text
also loses invisible zero-width characters (typed as word breaks) and the two vowel spellings that
look identical on screen (េ + ា for ោ, េ + ី for ើ) are read as one. Phone numbers are compared
by their digits, Khmer digits read as Latin ones. The import's matching and the search both use these.
"""

from __future__ import annotations

import re
import unicodedata

# The longest text a search box takes (its maxlength) and the server reads: no name, title or phone
# number is longer, and 100 Khmer characters stay well inside an address's limit (9 bytes each
# once percent-encoded; gunicorn refuses a request line over 4,094 bytes).
SEARCH_MAX_LENGTH = 100

INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
KHMER_FOLDS = (("\u17c1\u17b6", "\u17c4"), ("\u17c1\u17b8", "\u17be"))


def clean_text(value: str) -> str:
    """What is stored: NFC, trimmed, inner runs of spaces collapsed."""
    # str.split() splits on exactly the characters the regular expression \s matches (both use
    # str.isspace), several times faster: an import calls this for every cell of every row.
    return " ".join(unicodedata.normalize("NFC", value or "").split())


def name_key(value: str) -> str:
    """What is compared: clean_text, Khmer look-alikes folded, case folded, and without spaces or
    invisible characters (Khmer typists separate words with a zero-width space, a space or nothing)."""
    text = clean_text((value or "").translate(INVISIBLE))
    for spelled, single in KHMER_FOLDS:
        text = text.replace(spelled, single)
    return "".join(text.split()).casefold()


KHMER_DIGITS = str.maketrans("០១២៣៤៥៦៧៨៩", "0123456789")
DEFAULT_REGION = "KH"


def latin_digits(value: str) -> str:
    """Khmer digits (០-៩) read as the Latin digits they are."""
    return (value or "").translate(KHMER_DIGITS)


def phone_key(value: str) -> str:
    """Digits only, without Cambodia's +855 or the trunk 0: “+855 12 345 678”, “012345678” and
    “០១២ ៣៤៥ ៦៧៨” agree."""
    digits = re.sub(r"\D", "", latin_digits(value))
    if digits.startswith("00855"):
        digits = digits[5:]
    elif digits.startswith("855") and len(digits) > 9:
        digits = digits[3:]
    return digits.lstrip("0")
