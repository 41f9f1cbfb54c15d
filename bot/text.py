"""Normalise what people type before the NLU sees it.

WeChat and hotline input carries full-width Latin letters and digits,
control characters pasted from documents, and sometimes whole articles. The
model was trained on short, clean text, so we fold widths, drop invisible
characters and cap the length: a 10,000-character paste must neither crash
nor stall the parser.
"""

import re
import unicodedata

MAX_CHARS = 512

_INVISIBLE = re.compile(
    "[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"  # C0/C1 controls, keeping \t \n \r
    "\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]"  # zero-width and direction marks
)
_SPACES = re.compile(r"\s+")


def normalize(text: str, max_chars: int = MAX_CHARS) -> str:
    """Return text folded to NFKC, without control characters, single-spaced and capped."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", text)
    visible = _INVISIBLE.sub("", folded)
    collapsed = _SPACES.sub(" ", visible).strip()
    return collapsed[:max_chars]


def has_meaningful_text(text: str) -> bool:
    """True when text holds at least one letter or digit (CJK counts), not only emoji or punctuation."""
    return any(unicodedata.category(ch)[0] in ("L", "N") for ch in text)
