"""The Segment-compatible tracking API, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import gzip
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from partitur.context import Context
from partitur.events.tables import events


def basic(write_key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()}


def stored(ctx: Context) -> list[dict[str, Any]]:
    with ctx.store.read() as conn:
        rows = conn.execute(
            text(
                "SELECT message_id, type, event, user_id, anonymous_id, timestamp, sent_at"
                " FROM events ORDER BY seq"
            )
        ).mappings()
        return [dict(r) for r in rows]


def test_track_with_http_basic_is_committed_before_the_answer(
    client: TestClient, ctx: Context, write_key: str
) -> None:
    answer = client.post(
        "/v1/track",
        json={"userId": "u1", "event": "Order Completed", "properties": {"revenue": 42}},
        headers=basic(write_key),
    )
    assert answer.status_code == 200
    assert answer.json() == {"success": True, "accepted": 1, "duplicates": 0, "rejected": []}
    [row] = stored(ctx)
    assert (row["type"], row["event"], row["user_id"]) == ("track", "Order Completed", "u1")


def test_tracking_endpoints_are_documented_in_openapi(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for kind in ("identify", "track", "page", "screen", "group", "alias", "batch"):
        assert "post" in paths[f"/v1/{kind}"]
    assert "get" in paths["/api/quarantine"]
    assert (
        "batch"
        in paths["/v1/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"][
            "properties"
        ]
    )


def test_write_key_in_the_body_is_accepted(
    client: TestClient, ctx: Context, write_key: str
) -> None:
    answer = client.post("/v1/identify", json={"writeKey": write_key, "anonymousId": "a1"})
    assert answer.status_code == 200
    assert [r["anonymous_id"] for r in stored(ctx)] == ["a1"]


def test_every_single_message_endpoint_stores_its_type(
    client: TestClient, ctx: Context, write_key: str
) -> None:
    bodies = {
        "identify": {"userId": "u1", "traits": {"email": "u1@example.com"}},
        "track": {"userId": "u1", "event": "Signed Up"},
        "page": {"anonymousId": "a1", "name": "Home"},
        "screen": {"userId": "u1", "name": "Cart"},
        "group": {"userId": "u1", "groupId": "acme"},
        "alias": {"userId": "u1", "previousId": "a1"},
    }
    for kind, body in bodies.items():
        assert client.post(f"/v1/{kind}", json=body, headers=basic(write_key)).status_code == 200
    assert [(r["type"], r["event"]) for r in stored(ctx)] == [
        ("identify", None),
        ("track", "Signed Up"),
        ("page", "Home"),
        ("screen", "Cart"),
        ("group", None),
        ("alias", None),
    ]


def test_unknown_or_missing_write_key_is_401_problem_json(client: TestClient) -> None:
    unknown = client.post("/v1/track", json={"userId": "u", "event": "E"}, headers=basic("nope"))
    assert unknown.status_code == 401
    assert unknown.headers["content-type"] == "application/problem+json"
    missing = client.post("/v1/track", json={"userId": "u", "event": "E"})
    assert missing.status_code == 401
    assert missing.json()["field"] == "writeKey"
    in_body = client.post("/v1/batch", json={"writeKey": "nope", "batch": []})
    assert in_body.status_code == 401


def test_gzip_bodies_are_accepted(client: TestClient, ctx: Context, write_key: str) -> None:
    body = gzip.compress(
        orjson.dumps({"batch": [{"type": "track", "userId": "u1", "event": "Zipped"}]})
    )
    answer = client.post(
        "/v1/batch",
        content=body,
        headers={
            **basic(write_key),
            "Content-Encoding": "gzip",
            "Content-Type": "application/json",
        },
    )
    assert answer.status_code == 200, answer.text
    assert [r["event"] for r in stored(ctx)] == ["Zipped"]
    broken = client.post(
        "/v1/batch", content=b"not gzip", headers={**basic(write_key), "Content-Encoding": "gzip"}
    )
    assert broken.status_code == 400
    assert broken.json()["field"] == "Content-Encoding"


def test_invalid_json_is_400_and_stores_nothing(
    client: TestClient, ctx: Context, write_key: str
) -> None:
    answer = client.post("/v1/batch", content=b'{"batch": [', headers=basic(write_key))
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["field"] == "body"
    assert stored(ctx) == []


def test_segment_size_limits_answer_400(client: TestClient, ctx: Context, write_key: str) -> None:
    big = "x" * (33 * 1024)
    single = client.post(
        "/v1/track",
        json={"userId": "u", "event": "E", "properties": {"b": big}},
        headers=basic(write_key),
    )
    assert single.status_code == 400
    assert "32 KB" in single.json()["detail"]
    # a batch over 500 KB is refused as a whole
    messages = [{"type": "track", "userId": "u", "event": "E", "properties": {"b": "y" * 20_000}}]
    too_big = client.post("/v1/batch", json={"batch": messages * 30}, headers=basic(write_key))
    assert too_big.status_code == 400
    assert "500 KB" in too_big.json()["detail"]
    # a gzip body that inflates past the limit is refused too
    bomb = gzip.compress(orjson.dumps({"batch": messages * 30}))
    assert len(bomb) < 500 * 1024
    inflated = client.post(
        "/v1/batch", content=bomb, headers={**basic(write_key), "Content-Encoding": "gzip"}
    )
    assert inflated.status_code == 400
    # one oversized message inside a batch is rejected alone
    mixed = [
        {"type": "track", "userId": "u", "event": "Small"},
        {"type": "track", "userId": "u", "event": "Big", "properties": {"b": big}},
    ]
    partial = client.post("/v1/batch", json={"batch": mixed}, headers=basic(write_key))
    assert partial.status_code == 200
    assert [r["index"] for r in partial.json()["rejected"]] == [1]
    assert [r["event"] for r in stored(ctx)] == ["Small"]


def test_invalid_single_message_is_400_naming_the_field(
    client: TestClient, write_key: str, admin_headers: dict[str, str]
) -> None:
    answer = client.post("/v1/track", json={"userId": "u1"}, headers=basic(write_key))
    assert answer.status_code == 400
    assert answer.json()["field"] == "event"
    no_one = client.post("/v1/identify", json={"traits": {}}, headers=basic(write_key))
    assert no_one.json()["field"] == "userId"
    alias = client.post("/v1/alias", json={"userId": "u1"}, headers=basic(write_key))
    assert alias.json()["field"] == "previousId"
    kept = client.get("/api/quarantine", headers=admin_headers).json()["items"]
    assert [q["origin"] for q in kept] == ["api:/v1/alias", "api:/v1/identify", "api:/v1/track"]


def test_partial_batch_accepts_the_good_and_quarantines_the_bad(
    client: TestClient, ctx: Context, write_key: str, admin_headers: dict[str, str]
) -> None:
    batch = [
        {"type": "track", "userId": "u1", "event": "Good 1"},
        {"type": "track", "event": "Nobody"},
        {"type": "launch", "userId": "u1"},
        {"type": "identify", "anonymousId": "a1"},
        "not an object",
        {"type": "track", "userId": "u1", "event": "Late", "timestamp": "yesterday"},
    ]
    answer = client.post("/v1/batch", json={"batch": batch}, headers=basic(write_key))
    assert answer.status_code == 200
    body = answer.json()
    assert (body["success"], body["accepted"], body["duplicates"]) == (True, 2, 0)
    assert [(r["index"], r["field"]) for r in body["rejected"]] == [
        (1, "userId"),
        (2, "type"),
        (4, None),
        (5, "timestamp"),
    ]
    assert [r["event"] for r in stored(ctx)] == ["Good 1", None]
    first = client.get("/api/quarantine?limit=3", headers=admin_headers).json()
    assert len(first["items"]) == 3
    rest = client.get(
        f"/api/quarantine?limit=3&cursor={first['next_cursor']}", headers=admin_headers
    ).json()
    assert rest["next_cursor"] is None
    kept = first["items"] + rest["items"]
    assert sorted(q["position"] for q in kept) == ["1", "2", "4", "5"]
    assert any(orjson.loads(q["payload"]) == "not an object" for q in kept)
    assert client.get("/api/quarantine").status_code == 401
    bad_cursor = client.get("/api/quarantine?cursor=%%%", headers=admin_headers)
    assert (bad_cursor.status_code, bad_cursor.json()["field"]) == (400, "cursor")


def test_retried_batch_is_stored_once(client: TestClient, ctx: Context, write_key: str) -> None:
    batch = [
        {"type": "track", "userId": "u1", "event": "A", "messageId": "m-1"},
        {"type": "track", "userId": "u1", "event": "B", "timestamp": "2026-01-05T08:00:00Z"},
    ]
    first = client.post(
        "/v1/batch",
        json={"batch": batch, "sentAt": "2026-01-05T08:00:01Z"},
        headers=basic(write_key),
    )
    retry = client.post(
        "/v1/batch",
        json={"batch": batch, "sentAt": "2026-01-05T08:00:31Z"},
        headers=basic(write_key),
    )
    assert (first.json()["accepted"], first.json()["duplicates"]) == (2, 0)
    assert (retry.json()["accepted"], retry.json()["duplicates"]) == (0, 2)
    assert len(stored(ctx)) == 2


def test_clock_skew_is_corrected_with_sent_at(
    client: TestClient, ctx: Context, write_key: str
) -> None:
    # The device clock is 2 hours behind; the event happened 10 s before it was sent.
    # The server received it at 09:00:00 (the test clock), so it happened at 08:59:50.
    message = {
        "userId": "u1",
        "event": "Skewed",
        "timestamp": "2026-01-05T07:00:00Z",
        "sentAt": "2026-01-05T07:00:10Z",
    }
    assert client.post("/v1/track", json=message, headers=basic(write_key)).status_code == 200
    batch = {
        "batch": [{**message, "type": "track", "sentAt": None, "messageId": "b"}],
        "sentAt": "2026-01-05T07:00:10Z",
    }
    assert client.post("/v1/batch", json=batch, headers=basic(write_key)).status_code == 200
    with ctx.store.read() as conn:
        rows = conn.execute(
            select(
                events.c.timestamp,
                events.c.original_timestamp,
                events.c.sent_at,
                events.c.received_at,
            )
        ).all()
    assert len(rows) == 2
    for row in rows:
        assert tuple(row) == (
            datetime(2026, 1, 5, 8, 59, 50, tzinfo=UTC),
            datetime(2026, 1, 5, 7, 0, 0, tzinfo=UTC),
            datetime(2026, 1, 5, 7, 0, 10, tzinfo=UTC),
            datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC),
        )
