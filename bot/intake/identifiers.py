"""Case numbers: ``IP-YYYYMMDD-`` (China Standard Time) + 6 unguessable characters.

The alphabet leaves out 0/O and 1/I/L, which people misread when a case number is read out
over the phone or copied from a screenshot.
"""

import re
import secrets
from datetime import datetime

from bot.intake.timeutil import CHINA_TIME

CASE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CASE_SUFFIX_LENGTH = 6
CASE_NUMBER = re.compile(rf"^IP-\d{{8}}-[{CASE_ALPHABET}]{{{CASE_SUFFIX_LENGTH}}}$")


def new_case_number(now: datetime) -> str:
    suffix = "".join(secrets.choice(CASE_ALPHABET) for _ in range(CASE_SUFFIX_LENGTH))
    return f"IP-{now.astimezone(CHINA_TIME):%Y%m%d}-{suffix}"


def looks_like_case_number(text: str) -> bool:
    return bool(CASE_NUMBER.match(text.strip().upper()))
