"""``normalize`` is the specification of which Segment messages partitur accepts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partitur.core.errors import ValidationFailed
from partitur.events.service import normalize

RECEIVED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def reject_field(message: Any) -> str | None:
    with pytest.raises(ValidationFailed) as caught:
        normalize(message, received_at=RECEIVED)
    return caught.value.field


def test_track_becomes_a_row_with_columns_and_extras() -> None:
    row = normalize(
        {
            "type": "track",
            "messageId": "m1",
            "userId": 42,
            "event": "Order Completed",
            "properties": {"revenue": 10},
            "context": {"ip": "1.2.3.4"},
            "integrations": {"All": True},
            "writeKey": "secret-ish",
        },
        received_at=RECEIVED,
    )
    assert row["user_id"] == "42"
    assert (row["type"], row["event"], row["message_id"]) == ("track", "Order Completed", "m1")
    assert row["extra"] == {"integrations": {"All": True}}
    assert row["timestamp"] == RECEIVED  # no timestamp: the time it was received
    assert row["profile_id"] is None


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"type": "track", "event": "E"}, "userId"),
        ({"type": "track", "userId": "", "anonymousId": "  ", "event": "E"}, "userId"),
        ({"type": "track", "userId": "u"}, "event"),
        ({"type": "launch", "userId": "u"}, "type"),
        ({"userId": "u"}, "type"),
        ({"type": "alias", "userId": "u"}, "previousId"),
        ({"type": "group", "userId": "u"}, "groupId"),
        ({"type": "identify", "userId": "u", "timestamp": "last tuesday"}, "timestamp"),
        ({"type": "identify", "userId": "u", "timestamp": 1700000000}, "timestamp"),
        ({"type": "identify", "userId": "u", "sentAt": "2026-13-01"}, "sentAt"),
        ({"type": "identify", "userId": "u", "traits": ["a"]}, "traits"),
        ({"type": "track", "userId": "u", "event": "E", "properties": "x"}, "properties"),
        ({"type": "identify", "userId": {"id": 1}}, "userId"),
        ({"type": "identify", "userId": "u" * 256}, "userId"),
        ({"type": "identify", "userId": "u", "traits": {"bio": "x" * 33_000}}, "message"),
        (["not", "an", "object"], None),
    ],
)
def test_invalid_messages_are_refused_naming_the_field(message: Any, field: str | None) -> None:
    assert reject_field(message) == field


def test_clock_skew_correction_keeps_the_original_times() -> None:
    row = normalize(
        {
            "type": "track",
            "userId": "u",
            "event": "E",
            "timestamp": "2026-03-01T09:00:00+01:00",
            "sentAt": "2026-03-01T08:00:30Z",
        },
        received_at=RECEIVED,
    )
    assert row["original_timestamp"] == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert row["sent_at"] == datetime(2026, 3, 1, 8, 0, 30, tzinfo=UTC)
    assert row["timestamp"] == RECEIVED - timedelta(seconds=30)
    assert row["received_at"] == RECEIVED


def test_without_sent_at_the_timestamp_is_trusted() -> None:
    row = normalize(
        {"type": "page", "anonymousId": "a", "originalTimestamp": "2026-02-01T00:00:00"},
        received_at=RECEIVED,
    )
    assert row["timestamp"] == datetime(2026, 2, 1, tzinfo=UTC)


# hypothesis takes naive bounds and attaches the time zone itself
moments = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@given(
    event_time=moments, delay=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30))
)
def test_corrected_timestamp_is_receipt_minus_the_device_measured_delay(
    event_time: datetime, delay: timedelta
) -> None:
    row = normalize(
        {
            "type": "track",
            "userId": "u",
            "event": "E",
            "timestamp": event_time.isoformat(),
            "sentAt": (event_time + delay).isoformat(),
        },
        received_at=RECEIVED,
    )
    assert RECEIVED - row["timestamp"] == delay
    assert row["timestamp"].tzinfo is not None


identifiers = st.text(min_size=1, max_size=40).filter(str.strip)
#: what JSON from the wire can hold (orjson refuses integers beyond 64 bits)
json_ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)
properties = st.dictionaries(st.text(max_size=10), json_ints | st.text(max_size=10), max_size=5)


@given(user=identifiers, event=identifiers, props=properties, resent=moments)
def test_missing_message_id_is_a_stable_content_hash_ignoring_sent_at(
    user: str, event: str, props: dict[str, Any], resent: datetime
) -> None:
    message = {"type": "track", "userId": user, "event": event, "properties": props}
    first = normalize(message, received_at=RECEIVED)["message_id"]
    retried = normalize({**message, "sentAt": resent.isoformat()}, received_at=RECEIVED)
    assert retried["message_id"] == first
    other = normalize({**message, "event": event + "!"}, received_at=RECEIVED)
    assert other["message_id"] != first


@given(
    message=st.dictionaries(
        st.sampled_from(
            [
                "type",
                "userId",
                "anonymousId",
                "event",
                "timestamp",
                "sentAt",
                "properties",
                "previousId",
                "groupId",
                "name",
            ]
        ),
        st.none() | json_ints | st.text(max_size=30) | st.booleans() | properties,
        max_size=10,
    )
)
def test_any_message_is_either_a_row_or_a_validation_error(message: dict[str, Any]) -> None:
    try:
        row = normalize(message, received_at=RECEIVED)
    except ValidationFailed as exc:
        assert exc.detail
        return
    assert row["type"] in {"identify", "track", "page", "screen", "group", "alias"}
    assert row["user_id"] or row["anonymous_id"]
    assert row["timestamp"].tzinfo is not None
