from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partitur.identity.extract import (
    Blocklist,
    extract_identifiers,
    key_identifiers,
    normalise_email,
    normalise_phone,
    value_hash,
)
from partitur.settings import Settings

BLOCK = Blocklist(Settings().identity_blocked_values)


def ids(**kw: object) -> tuple[tuple[str, str], ...]:
    base: dict[str, object] = {
        "user_id": None,
        "anonymous_id": None,
        "traits": None,
        "context_traits": None,
        "external_ids": None,
        "previous_id": None,
        "external_id_traits": ["crm_id"],
        "blocklist": BLOCK,
    }
    base.update(kw)
    return extract_identifiers(**base)  # type: ignore[arg-type]


def test_emails_are_lower_cased_and_trimmed_and_junk_is_not_an_email() -> None:
    assert normalise_email("  Ada@Example.COM ") == "ada@example.com"
    assert normalise_email("no-at-sign") is None
    assert normalise_email("@example.com") is None
    assert normalise_email(42) is None


def test_phones_keep_plus_and_digits_only() -> None:
    assert normalise_phone("+49 (30) 123-4567") == "+49301234567"
    assert normalise_phone("0049 30 1234567") == "+49301234567"
    assert normalise_phone(4930123456) == "4930123456"
    assert normalise_phone("12-34") is None
    assert normalise_phone("call me") is None
    assert normalise_phone(True) is None


def test_blocked_values_are_case_insensitive_and_zeros_or_dashes_are_blocked() -> None:
    for value in (
        "",
        " ",
        "0",
        "-1",
        "NULL",
        "None",
        "undefined",
        "Anonymous",
        "000000",
        "---",
        "0-0",
    ):
        assert BLOCK.blocks(value), value
    for value in ("u-1", "10", "anon-0"):
        assert not BLOCK.blocks(value), value


def test_identifiers_come_anchor_first_without_blocked_or_duplicate_values() -> None:
    found = ids(
        user_id="u-1",
        anonymous_id="undefined",
        traits={"email": "A@B.io", "phone": "+1 555 0100 22", "crm_id": "C-9"},
        context_traits={"email": "a@b.io"},
        external_ids=[{"id": "Z-1", "type": "Zendesk"}, {"id": "0", "type": "x"}, "junk"],
        previous_id="anon-7",
    )
    assert found == (
        ("user_id", "u-1"),
        ("anonymous_id", "anon-7"),
        ("external:zendesk", "Z-1"),
        ("external:crm_id", "C-9"),
        ("email", "a@b.io"),
        ("phone", "+1555010022"),
    )


def test_numeric_ids_are_text_and_all_blocked_leaves_nothing() -> None:
    assert ids(user_id=12345) == (("user_id", "12345"),)
    assert ids(user_id="null", anonymous_id="0000") == ()


def test_suppression_hashes_depend_on_kind_and_value() -> None:
    assert value_hash("email", "a@b.io") != value_hash("user_id", "a@b.io")
    assert len(value_hash("email", "a@b.io")) == 64


@given(st.text(alphabet="0- ", min_size=1))
def test_any_string_of_zeros_dashes_and_spaces_is_blocked(value: str) -> None:
    assert BLOCK.blocks(value)


@given(st.emails())
def test_email_normalisation_is_idempotent(email: str) -> None:
    once = normalise_email(email)
    assert once is not None
    assert normalise_email(once) == once


def test_bulk_ids_are_unique_sortable_ulids() -> None:
    from partitur.core.ids import new_ids

    ids = new_ids("prf", 1000, now_ms=1_700_000_000_000)
    assert len(set(ids)) == 1000
    assert all(len(i) == 30 and i.startswith("prf_01") for i in ids)
    # ascending in the order given, so bulk-created rows append to their indexes
    assert ids == sorted(ids)
    later = new_ids("prf", 1, now_ms=1_700_000_000_001)[0]
    assert later[:14] > ids[0][:14]


def test_bulk_ids_encode_their_random_bits_as_single_ulids_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from partitur.core import ids as ids_module

    randomness = bytes(range(256))[:250]  # 25 ids' worth of 80 bits
    monkeypatch.setattr("partitur.core.ids.os.urandom", lambda n: randomness[:n])
    made = ids_module.new_ids("prf", 25, now_ms=1_700_000_000_000)
    expected = sorted(
        ids_module.ulid(1_700_000_000_000)[:10]
        + "".join(
            ids_module._ALPHABET[(int.from_bytes(randomness[i : i + 10], "big") >> s) & 31]
            for s in range(75, -1, -5)
        )
        for i in range(0, 250, 10)
    )
    assert made == [f"prf_{body}" for body in expected]


_KEY_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", " ", "0", "-1", "null", "Anonymous", " u-1 ", "u-1", "x" * 300]),
    st.text(max_size=12),
)


@given(_KEY_VALUES, _KEY_VALUES)
def test_key_identifiers_are_what_a_message_with_only_those_ids_gives(
    user_id: object, anonymous_id: object
) -> None:
    assert key_identifiers(user_id, anonymous_id, BLOCK) == ids(
        user_id=user_id, anonymous_id=anonymous_id
    )
