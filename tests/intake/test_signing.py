"""HMAC-SHA256 signing over "<timestamp>.<body>" and its verification window."""

import pytest

from bot.intake.signing import SignatureError, sign, signed_headers, verify

SECRET = "example-secret-0123456789"
BODY = b'{"case_number":"IP-20260101-7K3QWX","service_code":"patent"}'
STAMP = 1767225600  # 2026-01-01T00:00:00Z
# The worked example in docs/intake.md (also: printf '%s' "$STAMP.$BODY" | openssl dgst -sha256 -hmac "$SECRET").
EXPECTED = "fe3491d385c8d69b8cfa88d4cdae967791ea01dfd4416bef86ce77066994037e"


def test_signature_matches_the_documented_example():
    assert sign(SECRET, STAMP, BODY) == EXPECTED


def test_signed_headers_verify():
    headers = signed_headers(SECRET, BODY, now=STAMP)
    assert headers == {"X-Timestamp": str(STAMP), "X-Signature": EXPECTED}
    verify(SECRET, headers["X-Timestamp"], headers["X-Signature"], BODY, now=STAMP + 10)


def test_uppercase_hex_is_accepted():
    verify(SECRET, str(STAMP), EXPECTED.upper(), BODY, now=STAMP)


@pytest.mark.parametrize(
    "secret, timestamp, signature, body, message",
    [
        ("another-secret-000000000", str(STAMP), EXPECTED, BODY, "does not match"),
        (SECRET, str(STAMP), EXPECTED, BODY + b" ", "does not match"),
        (SECRET, str(STAMP + 1), EXPECTED, BODY, "does not match"),
        (SECRET, None, EXPECTED, BODY, "missing X-Timestamp"),
        (SECRET, str(STAMP), None, BODY, "missing X-Signature"),
        (SECRET, "2026-01-01", EXPECTED, BODY, "unix seconds"),
        (SECRET, str(STAMP), "abc", BODY, "64 hex digits"),
    ],
)
def test_bad_signatures_are_refused(secret, timestamp, signature, body, message):
    with pytest.raises(SignatureError, match=message):
        verify(secret, timestamp, signature, body, now=STAMP)


@pytest.mark.parametrize("offset", [301, -301, 86400])
def test_timestamps_outside_five_minutes_are_refused(offset):
    with pytest.raises(SignatureError, match="5 minutes"):
        verify(SECRET, str(STAMP), EXPECTED, BODY, now=STAMP + offset)


@pytest.mark.parametrize("offset", [300, -300, 0])
def test_timestamps_inside_the_window_pass(offset):
    verify(SECRET, str(STAMP), EXPECTED, BODY, now=STAMP + offset)
