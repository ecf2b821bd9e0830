"""Data-quality monitoring queries: hourly volume per source and event name, new and vanished
event names, and property schema drift — all in DuckDB, judged with numpy (``detection``).

Volumes count events by ``received_at`` (when the data arrived, which is what breaks when a
tracking release stops sending); the series name is the event name (track) or the message type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from partitur.analytics.detection import WEEK, DetectorSettings, detect
from partitur.analytics.engine import AnalyticsEngine

HOUR = 3600


@dataclass
class Finding:
    """One alert-to-be (before it is stored)."""

    kind: str
    hour: datetime
    source_id: str | None
    event_name: str | None
    property: str | None = None
    observed: float | None = None
    expected: float | None = None
    score: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def key(self) -> str:
        """One alert per kind, series, property and hour."""
        parts = [self.kind, self.source_id or "", self.event_name or "", self.property or ""]
        return ":".join([*parts, self.hour.strftime("%Y%m%d%H")])


@dataclass
class HourlyVolume:
    series: list[tuple[str, str]]
    first_hour: int  # epoch hours of column 0
    counts: np.ndarray  # series x hours

    def hour_at(self, column: int) -> datetime:
        return datetime.fromtimestamp((self.first_hour + column) * HOUR, tz=UTC)


def epoch_hour(moment: datetime) -> int:
    return int(moment.timestamp()) // HOUR


def hourly_volume(
    engine: AnalyticsEngine,
    *,
    first_hour: int,
    end_hour: int,
    exclude_sources: tuple[str, ...] = (),
) -> HourlyVolume:
    """Counts per (source, name) and hour for hours ``first_hour..end_hour-1`` (epoch hours),
    as a dense matrix (hours without events are 0)."""
    engine.require("events")
    params: dict[str, Any] = {
        "lo": datetime.fromtimestamp(first_hour * HOUR, tz=UTC).replace(tzinfo=None),
        "hi": datetime.fromtimestamp(end_hour * HOUR, tz=UTC).replace(tzinfo=None),
        "excl": list(exclude_sources) or [""],
    }
    rel = engine.query(
        """
        WITH v AS (SELECT source_id, coalesce(event, type) AS name,
                          CAST(epoch(date_trunc('hour', received_at)) AS BIGINT) // 3600 AS h,
                          count(*) AS n
                   FROM events
                   WHERE received_at >= $lo AND received_at < $hi
                     AND NOT list_contains($excl, source_id)
                   GROUP BY ALL)
        SELECT source_id, name, h, n, dense_rank() OVER (ORDER BY source_id, name) - 1 AS s
        FROM v
        """,
        params,
    ).fetchnumpy()
    hours = end_hour - first_hour
    if len(rel["s"]) == 0:
        return HourlyVolume([], first_hour, np.zeros((0, hours)))
    s_idx = np.asarray(rel["s"], dtype=np.int64)
    h_idx = np.asarray(rel["h"], dtype=np.int64) - first_hour
    n_series = int(s_idx.max()) + 1
    counts = np.zeros((n_series, hours))
    np.add.at(counts, (s_idx, h_idx), np.asarray(rel["n"], dtype=float))
    names: list[tuple[str, str]] = [("", "")] * n_series
    order = np.unique(s_idx, return_index=True)[1]
    for i in order:  # one entry per series, not per event
        names[int(s_idx[i])] = (str(rel["source_id"][i]), str(rel["name"][i]))
    return HourlyVolume(names, first_hour, counts)


def volume_findings(
    volume: HourlyVolume, evaluate_from: int, settings: DetectorSettings
) -> list[Finding]:
    """Rise, drop and missing-data findings for columns ``evaluate_from..``, plus new and
    vanished event names."""
    # hours before a series' first event are unknown, not zero (a series or a workspace that
    # started recently must not be judged against an empty past)
    observed = np.where(np.cumsum(volume.counts, axis=1) > 0, volume.counts, np.nan)
    findings = [
        Finding(
            kind=d.kind,
            hour=volume.hour_at(d.hour),
            source_id=volume.series[d.series][0],
            event_name=volume.series[d.series][1],
            observed=d.observed,
            expected=d.expected,
            score=d.score,
        )
        for d in detect(observed, evaluate_from, settings)
    ]
    counts = volume.counts
    if counts.shape[0] == 0:
        return findings
    before = np.cumsum(counts, axis=1) - counts  # events of the series before each hour
    any_before = np.cumsum(counts.sum(axis=0)) - counts.sum(axis=0)
    for col in range(evaluate_from, counts.shape[1]):
        new = (counts[:, col] > 0) & (before[:, col] == 0) & (any_before[col] > 0)
        for s in np.nonzero(new)[0]:
            findings.append(
                Finding(
                    kind="new_event",
                    hour=volume.hour_at(col),
                    source_id=volume.series[s][0],
                    event_name=volume.series[s][1],
                    observed=float(counts[s, col]),
                    expected=0.0,
                )
            )
        if col >= 24 + 7 * 24:
            silent = counts[:, col - 23 : col + 1].sum(axis=1) == 0
            last_seen = counts[:, col - 24] > 0
            days = counts[:, col - 24 - 7 * 24 + 1 : col - 23].reshape(len(counts), 7, 24)
            regular = (days.sum(axis=2) > 0).sum(axis=1) >= 5
            for s in np.nonzero(silent & last_seen & regular)[0]:
                findings.append(
                    Finding(
                        kind="vanished_event",
                        hour=volume.hour_at(col),
                        source_id=volume.series[s][0],
                        event_name=volume.series[s][1],
                        observed=0.0,
                        expected=float(days[s].sum() / 7),
                        detail={"silent_hours": 24},
                    )
                )
    return findings


def schema_findings(
    engine: AnalyticsEngine,
    *,
    start: datetime,
    end: datetime,
    baseline: timedelta = timedelta(days=7),
    min_events: int = 3,
    exclude_sources: tuple[str, ...] = (),
) -> list[Finding]:
    """Property drift of events received in [start, end) against the ``baseline`` before:
    new properties, properties always present before and absent now, and new JSON types."""
    engine.require("events")
    params: dict[str, Any] = {
        "b0": (start - baseline).astimezone(UTC).replace(tzinfo=None),
        "s": start.astimezone(UTC).replace(tzinfo=None),
        "e": end.astimezone(UTC).replace(tzinfo=None),
        "excl": list(exclude_sources) or [""],
    }
    rows = engine.rows(
        """
        WITH ev AS (SELECT source_id, coalesce(event, type) AS name, properties,
                           received_at >= $s AS recent,
                           date_trunc('hour', received_at) AS hour
                    FROM events
                    WHERE received_at >= $b0 AND received_at < $e
                      AND NOT list_contains($excl, source_id)
                      AND properties IS NOT NULL AND json_type(properties) = 'OBJECT'),
             totals AS (SELECT source_id, name,
                               count(*) FILTER (WHERE NOT recent) AS base_n,
                               count(*) FILTER (WHERE recent) AS recent_n,
                               min(hour) FILTER (WHERE recent) AS first_recent
                        FROM ev GROUP BY ALL),
             keyed AS (SELECT source_id, name, recent, hour, unnest(json_keys(properties)) AS key,
                              properties FROM ev),
             typed AS (SELECT source_id, name, recent, hour, key,
                              json_type(properties, '$."' || replace(key, '"', '') || '"') AS t
                       FROM keyed),
             per_key AS (SELECT source_id, name, key,
                                count(*) FILTER (WHERE NOT recent) AS base_k,
                                count(*) FILTER (WHERE recent) AS recent_k,
                                list_distinct(list(t) FILTER (WHERE NOT recent)) AS base_types,
                                list_distinct(list(t) FILTER (WHERE recent)) AS recent_types,
                                min(hour) FILTER (WHERE recent) AS first_hour
                         FROM typed GROUP BY ALL)
        SELECT k.*, t.base_n, t.recent_n, t.first_recent
        FROM totals t LEFT JOIN per_key k USING (source_id, name)
        WHERE t.base_n > 0 AND t.recent_n > 0
        ORDER BY source_id, name, key
        """,
        params,
    )
    found: list[Finding] = []
    for r in rows:  # one row per (source, event name, property key): small
        if r["key"] is None:
            continue
        hour = (r["first_hour"] or r["first_recent"]).replace(tzinfo=UTC)
        base_types = [t for t in (r["base_types"] or []) if t not in (None, "NULL")]
        recent_types = [t for t in (r["recent_types"] or []) if t not in (None, "NULL")]
        common = {"source_id": r["source_id"], "event_name": r["name"], "property": r["key"]}
        if r["base_k"] == 0 and r["recent_k"] > 0:
            found.append(
                Finding(
                    kind="new_property",
                    hour=hour,
                    observed=float(r["recent_k"]),
                    expected=0.0,
                    detail={"types": recent_types},
                    **common,
                )
            )
        elif (
            r["recent_k"] == 0 and r["base_k"] >= 0.99 * r["base_n"] and r["recent_n"] >= min_events
        ):
            found.append(
                Finding(
                    kind="missing_property",
                    hour=r["first_recent"].replace(tzinfo=UTC),
                    observed=0.0,
                    expected=float(r["recent_n"]),
                    **common,
                )
            )
        else:
            changed = sorted(set(recent_types) - set(base_types))
            if base_types and changed:
                found.append(
                    Finding(
                        kind="type_change",
                        hour=hour,
                        detail={"was": sorted(base_types), "now": changed},
                        **common,
                    )
                )
    return found


def evaluation_window(
    now: datetime, last_evaluated: int, max_catch_up: int = 336
) -> tuple[int, int]:
    """Epoch hours ``[first, end)`` to judge: every completed hour since the last one judged
    (at most ``max_catch_up``; only the last completed hour on the first run)."""
    end = epoch_hour(now)  # the current hour is not complete
    first = end - 1 if last_evaluated <= 0 else last_evaluated + 1
    first = max(first, end - max_catch_up)
    return first, end


#: hours read before the judged ones: the first 3 weeks have no baseline yet, the next 5 are
#: judged (so their anomalies are cleaned out of the baseline) before the hours that count
HISTORY_HOURS = 8 * WEEK


def volume_series(
    engine: AnalyticsEngine,
    *,
    end_hour: int,
    hours: int,
    source_id: str | None = None,
    event_name: str | None = None,
) -> tuple[list[datetime], list[float], list[float | None]]:
    """Observed and expected hourly volume of the last ``hours`` before ``end_hour``, summed
    over the series that match ``source_id``/``event_name`` (all when not given)."""
    from partitur.analytics.detection import judge

    first = end_hour - hours - HISTORY_HOURS
    volume = hourly_volume(engine, first_hour=first, end_hour=end_hour)
    keep = [
        i
        for i, (src, name) in enumerate(volume.series)
        if (source_id is None or src == source_id) and (event_name is None or name == event_name)
    ]
    counts = (
        volume.counts[keep].sum(axis=0, keepdims=True) if keep else np.zeros((1, end_hour - first))
    )
    observed = np.where(np.cumsum(counts, axis=1) > 0, counts, np.nan)
    base = judge(observed).expected[0, -hours:]
    moments = [volume.hour_at(c) for c in range(end_hour - first - hours, end_hour - first)]
    return (
        moments,
        [float(v) for v in counts[0, -hours:]],
        [None if np.isnan(v) else float(v) for v in base],
    )
