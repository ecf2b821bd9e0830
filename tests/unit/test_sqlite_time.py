"""The one SQLite time text (``storage.bulk.sqlite_time``) is what SQLAlchemy's SQLite
DateTime type stores for ``UtcDateTime``: bulk paths and Core inserts write the same text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from partitur.core.types import UtcDateTime
from partitur.storage.bulk import sqlite_time

zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9, minutes=-30))]
)


# hypothesis takes naive bounds; each moment gets its zone from ``timezones``
@given(st.datetimes(min_value=datetime(1970, 1, 2), timezones=zones))  # noqa: DTZ001
def test_sqlite_time_is_the_text_the_column_type_stores(moment: datetime) -> None:
    bind = UtcDateTime().dialect_impl(sqlite.dialect()).bind_processor(sqlite.dialect())
    assert bind is not None
    assert sqlite_time(moment) == bind(moment)
    assert sqlite_time(moment) == moment.astimezone(UTC).replace(tzinfo=None).isoformat(
        " ", "microseconds"
    )
