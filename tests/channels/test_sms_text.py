"""SMS segment counting and phone numbers."""

from __future__ import annotations

import pytest

from partitur.channels.base import InvalidAddress
from partitur.channels.plugins.sms import normalise_phone, sms_segments


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ("GSM-7", 0)),
        ("a" * 160, ("GSM-7", 1)),
        ("a" * 161, ("GSM-7", 2)),
        ("a" * 306, ("GSM-7", 2)),
        ("a" * 307, ("GSM-7", 3)),
        ("€" * 80, ("GSM-7", 1)),  # extension characters take two septets
        ("€" * 81, ("GSM-7", 2)),
        ("Grüße aus Köln", ("GSM-7", 1)),  # ü, ß and ö are in the GSM-7 alphabet
        ("garçon" + "a" * 64, ("UCS-2", 1)),  # ç (lower case) is not
        ("garçon" + "a" * 65, ("UCS-2", 2)),
        ("Привет" * 11 + "a" * 4, ("UCS-2", 1)),
        ("Привет" * 12, ("UCS-2", 2)),
        ("😀" * 35, ("UCS-2", 1)),  # a surrogate pair is two code units
        ("😀" * 36, ("UCS-2", 2)),
    ],
)
def test_segments_follow_gsm7_and_ucs2_limits(text: str, expected: tuple[str, int]) -> None:
    assert sms_segments(text) == expected


def test_phone_numbers_are_normalised_to_e164_or_refused() -> None:
    assert normalise_phone("+49 151 1234-5678") == "+4915112345678"
    assert normalise_phone("0049 151 12345678") == "+4915112345678"
    with pytest.raises(InvalidAddress, match=r"E\.164"):
        normalise_phone("0151 12345678")
    with pytest.raises(InvalidAddress):
        normalise_phone("call me")
