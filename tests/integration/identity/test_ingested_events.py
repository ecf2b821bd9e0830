from __future__ import annotations

from fastapi.testclient import TestClient

from partitur.context import Context
from partitur.identity.loops import IdentityResolver


def test_messages_sent_to_the_tracking_api_end_up_on_one_merged_profile(
    client: TestClient, ctx: Context, write_key: str, admin_headers: dict[str, str]
) -> None:
    auth = (write_key, "")
    sent = client.post(
        "/v1/batch",
        auth=auth,
        json={
            "batch": [
                {
                    "type": "page",
                    "anonymousId": "anon-7",
                    "name": "Home",
                    "context": {"timezone": "Europe/Vienna", "locale": "de-AT"},
                },
                {
                    "type": "track",
                    "anonymousId": "anon-7",
                    "event": "Order Completed",
                    "properties": {"revenue": 49.5},
                },
                {
                    "type": "identify",
                    "userId": "u-7",
                    "anonymousId": "anon-7",
                    "traits": {"email": "Kim@Example.com", "name": "Kim"},
                },
                {"type": "alias", "userId": "u-7", "previousId": "old-device"},
            ]
        },
    )
    assert sent.status_code == 200, sent.text
    IdentityResolver(ctx).run_until_idle()
    found = client.get("/api/profiles?email=kim@example.com", headers=admin_headers)
    assert found.status_code == 200
    body = found.json()
    assert body["identities"] == {
        "anonymous_id": ["anon-7", "old-device"],
        "email": ["kim@example.com"],
        "user_id": ["u-7"],
    }
    assert body["traits"] == {"email": "Kim@Example.com", "name": "Kim"}
    assert body["computed"]["event_count"] == 4
    assert body["computed"]["order_count"] == 1
    assert body["computed"]["revenue"] == 49.5
    assert body["computed"]["last_channel"] in ("web", "server")
    assert body["timezone"] == "Europe/Vienna"
    assert body["locale"] == "de-AT"
    page = client.get(f"/api/profiles/{body['id']}/events", headers=admin_headers).json()
    assert len(page["items"]) == 4
