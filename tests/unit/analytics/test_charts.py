"""Charts are drawn on their own figures (no pyplot state), so API threads can draw at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from partitur.analytics.charts import kpi_chart
from partitur.analytics.contracts import KpiPoint


def _points(journey: int) -> list[KpiPoint]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        KpiPoint(
            period=start + timedelta(days=d),
            entered=100 + journey,
            converted=d + journey,
            conversion_rate=(d + journey) / (100 + journey),
        )
        for d in range(10)
    ]


def test_concurrent_requests_each_get_their_own_complete_chart() -> None:
    def draw(journey: int) -> bytes:
        return kpi_chart(_points(journey), "svg", title=f"journey-{journey}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        images = list(pool.map(draw, range(24)))
    for journey, image in enumerate(images):
        text = image.decode()
        assert text.rstrip().endswith("</svg>")
        # the title (drawn as paths, named in a comment) is this request's and no other's
        titles = [line.strip() for line in text.splitlines() if "<!-- journey-" in line]
        assert titles == [f"<!-- journey-{journey} -->"]
    png = kpi_chart(_points(0), "png")
    assert png.startswith(b"\x89PNG")
