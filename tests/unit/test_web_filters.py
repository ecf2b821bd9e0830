"""How the UI shows trait values and times."""

from __future__ import annotations

from datetime import UTC, datetime

from partitur.web.ui import _display, _localtime, _number


def test_timestamps_show_in_the_profiles_timezone_and_dates_stay_dates() -> None:
    assert _display("2026-10-04T08:49:11+00:00", "Europe/Berlin") == "04 Oct 2026, 10:49"
    assert _display("2026-10-04 08:49:11.285000+00:00") == "04 Oct 2026, 08:49"
    assert _display("1970-12-02", "Europe/Berlin") == "1970-12-02"


def test_numbers_and_booleans_read_naturally() -> None:
    assert (_display(12345), _display(129.9), _display(True), _display(False)) == (
        "12,345",
        "129.90",
        "yes",
        "no",
    )
    assert _number(3.0) == "3"


def test_an_unknown_timezone_falls_back_to_utc() -> None:
    moment = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert _localtime(moment, "Mars/Olympus") == "05 Jan 2026, 09:00"
    assert _localtime(None) == "—"
