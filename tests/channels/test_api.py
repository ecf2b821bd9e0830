"""Settings over the API: providers, delivery policy, templates and preview, suppressions."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from partitur.access import service as access
from partitur.access.contracts import Scope
from partitur.context import Context
from partitur.core.actions import Actor
from tests.channels.conftest import make_profile


def test_providers_are_validated_and_their_secrets_never_come_back(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    unknown = client.put(
        "/api/channels/providers",
        json={"channel": "sms", "name": "x", "kind": "carrier-pigeon"},
        headers=admin_headers,
    )
    assert unknown.status_code == 422 and unknown.json()["field"] == "kind"
    mismatch = client.put(
        "/api/channels/providers",
        json={"channel": "sms", "name": "x", "kind": "smtp"},
        headers=admin_headers,
    )
    assert mismatch.status_code == 422 and "delivers email, not sms" in mismatch.json()["detail"]
    saved = client.put(
        "/api/channels/providers",
        json={"channel": "sms", "name": "tw", "kind": "twilio", "secrets": {"auth_token": "t0k3n"}},
        headers=admin_headers,
    )
    assert saved.status_code == 200
    listed = client.get("/api/channels/providers", headers=admin_headers)
    assert "t0k3n" not in listed.text
    assert listed.json()[0]["secret_names"] == ["auth_token"]


def test_policy_round_trips_and_rejects_bad_times(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    policy = client.get("/api/channels/policy", headers=admin_headers).json()
    assert (policy["quiet_start"], policy["quiet_end"]) == ("21:00", "08:00")
    policy["caps"] = [{"limit": 5, "window_hours": 168}]
    assert client.put("/api/channels/policy", json=policy, headers=admin_headers).status_code == 200
    assert client.get("/api/channels/policy", headers=admin_headers).json()["caps"] == [
        {"channel": None, "limit": 5, "window_hours": 168.0}
    ]
    bad = client.put(
        "/api/channels/policy", json={**policy, "quiet_start": "9pm"}, headers=admin_headers
    )
    assert bad.status_code == 422 and bad.json()["field"] == "quiet_start"


def test_preview_renders_for_a_real_profile_in_its_language(
    ctx: Context, client: TestClient, admin_headers: dict[str, str]
) -> None:
    for locale, subject in (
        ("en", "Hello {{ profile.first_name }}"),
        ("de", "Hallo {{ profile.first_name }}"),
    ):
        client.put(
            "/api/channels/templates",
            json={
                "key": "hi",
                "channel": "email",
                "locale": locale,
                "subject": subject,
                "body_text": "{{ data.offer }}",
            },
            headers=admin_headers,
        )
    pid = make_profile(ctx, locale="de", first_name="Jana")
    shown = client.post(
        "/api/channels/templates/hi/preview",
        json={"profile_id": pid, "data": {"offer": "10%"}},
        headers=admin_headers,
    ).json()
    assert (shown["subject"], shown["text"], shown["locale"]) == ("Hallo Jana", "10%", "de")
    missing = client.post(
        "/api/channels/templates/hi/preview",
        json={"profile_id": pid, "data": {}},
        headers=admin_headers,
    )
    assert missing.status_code == 422 and "offer" in missing.json()["detail"]
    check = client.get(
        "/api/channels/templates/hi/check?channel=email", headers=admin_headers
    ).json()
    assert check["ok"] is False and len(check["problems"]) == 2
    unknown = client.post(
        "/api/channels/templates/hi/preview", json={"profile_id": "prf_nope"}, headers=admin_headers
    )
    assert unknown.status_code == 404 and unknown.json()["field"] == "profile_id"


def test_the_demo_smtp_sink_keeps_every_mail(ctx: Context, tmp_path: Path) -> None:
    import smtplib

    from partitur.channels.smtp_sink import start_sink
    from tests.support.postgres import free_port

    port = free_port()
    controller = start_sink(ctx, host="127.0.0.1", port=port)
    try:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.sendmail("a@b.test", ["c@d.test"], b"Subject: hi\r\n\r\nhello\r\n")
    finally:
        controller.stop()
    files = list((ctx.settings.var_dir / "mail").glob("*.eml"))
    assert len(files) == 1 and b"Subject: hi" in files[0].read_bytes()


def test_the_worker_loops_deliver_and_recover(ctx: Context) -> None:
    from partitur.channels.loops import build_loops
    from tests.channels.conftest import message, send

    dispatcher_loop, retry_loop = build_loops(ctx)
    assert (dispatcher_loop.name, retry_loop.name) == ("channels.dispatcher", "channels.retry")
    mid = send(ctx, make_profile(ctx), "in_app", category="transactional", payload={"text": "hi"})
    assert dispatcher_loop.run_pass() == 1
    assert retry_loop.run_pass() == 0
    assert message(ctx, mid).status == "delivered"
    dispatcher_loop.dispatcher.close()  # type: ignore[attr-defined]


def test_the_demo_step_makes_every_example_template_publishable_and_is_idempotent(
    ctx: Context, client: TestClient
) -> None:
    from partitur.channels import service
    from partitur.channels.demo import MESSAGES, setup_channels

    class Report:
        def __init__(self) -> None:
            self.extras: dict[str, object] = {}
            self.notes: list[str] = []

        def add(self, label: str, value: object) -> None:
            self.extras[label] = value

        def note(self, text: str) -> None:
            self.notes.append(text)

    first, second = Report(), Report()
    setup_channels(ctx, first)
    setup_channels(ctx, second)
    assert first.extras["message templates"] == 40 and second.extras["message templates"] == 0
    with ctx.store.read() as conn:
        for key, (channel, _) in MESSAGES.items():
            assert (
                service.check_template(
                    conn, workspace_id=ctx.workspace_id, key=key, channel=channel
                )
                == []
            ), key
        assert (
            service.check_template(
                conn, workspace_id=ctx.workspace_id, key="crm-lead-cold", channel="webhook"
            )
            == []
        )
    assert client.post("/api/channels/webhook-sink", json={"x": 1}).status_code == 204


def test_only_templates_an_admin_marked_may_send_transactional(
    ctx: Context, client: TestClient, admin_headers: dict[str, str]
) -> None:
    designer = {"Authorization": f"Bearer {_token(ctx, Scope.write)}"}
    receipt = {"key": "receipt", "channel": "email", "subject": "Receipt", "body_text": "Thanks"}
    refused = client.put(
        "/api/channels/templates", json={**receipt, "transactional": True}, headers=designer
    )
    assert refused.status_code == 403 and refused.json()["field"] == "transactional"
    assert client.put("/api/channels/templates", json=receipt, headers=designer).status_code == 200
    pid = make_profile(ctx)
    send = {"profile_id": pid, "channel": "email", "template": "receipt"}
    unmarked = client.post(
        "/api/channels/messages",
        json={**send, "idempotency_key": "r1", "category": "transactional"},
        headers=designer,
    )
    assert unmarked.status_code == 422 and unmarked.json()["field"] == "category"
    unknown = client.post(
        "/api/channels/messages",
        json={**send, "idempotency_key": "r2", "category": "urgent"},
        headers=designer,
    )
    assert unknown.status_code == 422 and unknown.json()["field"] == "category"
    marked = client.put(
        "/api/channels/templates", json={**receipt, "transactional": True}, headers=admin_headers
    )
    assert marked.status_code == 200 and marked.json()["transactional"] is True
    # the designer may no longer change what the admin marked
    edit = client.put(
        "/api/channels/templates", json={**receipt, "body_text": "Buy more!"}, headers=designer
    )
    assert edit.status_code == 403
    queued = client.post(
        "/api/channels/messages",
        json={**send, "idempotency_key": "r3", "category": "transactional"},
        headers=designer,
    )
    assert queued.status_code == 202


def _token(ctx: Context, scope: Scope) -> str:
    with ctx.store.begin() as conn:
        return access.create_token(
            conn,
            workspace_id=ctx.workspace_id,
            name=f"{scope.value} token",
            scopes=[scope],
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        ).token
