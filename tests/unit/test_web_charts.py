"""The server-side SVG chart of the dashboard."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from partitur.web.charts import _nice_max, inline_svg, series_for, stacked_bars


def test_the_axis_top_is_a_round_number_at_or_above_the_highest_bar() -> None:
    assert [_nice_max(v) for v in (0, 1, 7, 10, 11, 180, 2_001)] == [1, 1, 10, 10, 20, 200, 5_000]


def test_one_rect_per_day_and_source_with_a_tooltip_per_day() -> None:
    days = [date(2026, 1, 1) + timedelta(days=k) for k in range(3)]
    values = [{"web": 5, "app": 5}, {}, {"web": 20}]
    svg = stacked_bars(days, values, series_for(["web", "app"]))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<rect") == 3
    assert "2026-01-03: 20 events" in svg and "2026-01-02: 0 events" in svg
    assert ">20<" in svg  # the axis tops out at 20


def test_names_are_escaped() -> None:
    svg = stacked_bars([date(2026, 1, 1)], [{"<b>": 1}], series_for(["<b>"]), title="a<b")
    assert "<b>" not in svg and "&lt;b&gt;" in svg


def test_an_svg_file_becomes_inline_markup_that_fits_its_card() -> None:
    document = (
        b'<?xml version="1.0" encoding="utf-8" standalone="no"?>\n'
        b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x.dtd">\n'
        b'<svg xmlns:xlink="http://www.w3.org/1999/xlink" width="576pt" height="252pt" '
        b'viewBox="0 0 576 252" xmlns="http://www.w3.org/2000/svg" version="1.1">\n'
        b"<g/></svg>\n"
    )
    markup = inline_svg(document, title='KPIs of "a<b"', min_width=800)
    assert markup.startswith('<svg class="chart" style="min-width: 800px" role="img" ')
    assert 'aria-label="KPIs of &quot;a&lt;b&quot;"' in markup
    assert 'viewBox="0 0 576 252"' in markup and "576pt" not in markup and "<?xml" not in markup
    assert markup.rstrip().endswith("<g/></svg>")
    with pytest.raises(ValueError):
        inline_svg(b"<html></html>", title="x")
