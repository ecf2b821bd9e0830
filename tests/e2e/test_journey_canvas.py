"""A new user builds cart abandonment on the journey canvas, from nothing and without YAML, in
headless Chromium against the served demo workspace: entry on "Product Added", wait for "Order
Completed" at most an hour, else a reminder email, a day later a branch on the cart value, SMS
or exit. On the way the canvas shows problems on the node they concern (its own and the
engine's) and they are fixed; the journey is simulated over the stored history, saved,
exported as the YAML the CLI loads, imported back unchanged and published. Then events go in
through ``/v1/batch``, the worker's loops run in the test on a clock that jumps an hour ahead,
the live canvas counts move and the reminder arrives in a real SMTP sink. The same journey is
built in German, where no key may be missing from the catalogue; axe finds no serious or
critical problem on the canvas in either language."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from partitur.channels import loops as channels_loops
from partitur.context import Context
from partitur.core.clock import VirtualClock
from partitur.core.loops import LoopService
from partitur.identity import loops as identity_loops
from partitur.journeys import loops as journeys_loops
from partitur.segments import loops as segments_loops
from partitur.settings import Settings
from tests.channels.conftest import MailSink, smtp_server  # noqa: F401 - a fixture
from tests.support.studio import Served, StudioBrowser, accessibility_problems, screenshots, visit

pytestmark = pytest.mark.browser

#: what the person chooses from lists, in the words of each language
WORDS = {
    "en": {
        "hour": "hour",
        "day": "day",
        "gt": "greater than",
        "sms": "SMS",
        "days30": "the last 30 days",
        "unreachable": "No path from the entry leads to this step.",
        "required": "Required.",
        "none": "No problems: the journey can be published.",
    },
    "de": {
        "hour": "Stunde",
        "day": "Tag",
        "gt": "größer als",
        "sms": "SMS",
        "days30": "die letzten 30 Tage",
        "unreachable": "Kein Weg vom Eintritt führt zu diesem Schritt.",
        "required": "Pflichtangabe.",
        "none": "Keine Probleme: Die Journey kann veröffentlicht werden.",
    },
}


class Clockwork:
    """The worker's loops (identity, segments, journeys, delivery), run in the test against the
    served database on a clock the test moves, so an hour of journey time passes at once."""

    def __init__(self, served: Served, sink: MailSink) -> None:
        self.clock = VirtualClock(datetime.now(UTC))
        settings = Settings(
            database_url=served.database_url,
            var_dir=served.home / "var",
            sqlite_synchronous="NORMAL",
            base_url=served.base_url,
            smtp_host=sink.host,
            smtp_port=sink.port,
        )
        self.ctx = Context.open(settings, clock=self.clock, migrate=False)
        builders = (identity_loops, segments_loops, journeys_loops, channels_loops)
        self.loops: list[LoopService] = [loop for b in builders for loop in b.build_loops(self.ctx)]

    def run(self, later: timedelta = timedelta(0)) -> None:
        """Run every loop until none has work, at the real time plus ``later``."""
        self.clock.set(max(self.clock.now(), datetime.now(UTC) + later))
        for _ in range(30):
            if not sum(loop.run_once(self.clock.now()) for loop in self.loops):
                return
        raise AssertionError("the loops did not come to rest")

    def close(self) -> None:
        for loop in self.loops:
            loop.close()
        self.ctx.close()


@pytest.fixture
def clockwork(served: Served, smtp_server: MailSink) -> Iterator[Clockwork]:  # noqa: F811
    worker = Clockwork(served, smtp_server)
    yield worker
    worker.close()


def choose(page: Any, field: Any, option: str) -> None:
    """Pick an option of a select (a Mantine combobox) by its words."""
    field.click()
    page.get_by_role("option", name=option, exact=True).first.click()


def form(page: Any, node: str) -> Any:
    return page.locator(f"[data-node-form={node}]")


def add_step(page: Any, kind: str, rename: str) -> Any:
    """Add a step from the palette (after the selected one) and give it an id."""
    page.click(f"[data-palette-item={kind}]")
    id_field = page.locator("[data-node-form] input[data-field=id]")
    id_field.fill(rename)
    id_field.press("Enter")
    page.wait_for_selector(f"[data-node-form={rename}]")
    return form(page, rename)


def select_node(page: Any, node: str) -> None:
    """Select a step on the canvas (first fitting the journey into view, as a person would)."""
    page.locator(".react-flow__controls-fitview").click()
    page.locator(f"[data-canvas-node={node}]").click()
    page.wait_for_selector(f"[data-node-form={node}]")


def build_cart_abandonment(page: Any, served: Served, language: str, key: str) -> None:
    """Everything a person does on the canvas up to a saved, checked, simulated journey."""
    from playwright.sync_api import expect

    words = WORDS[language]
    visit(page, "/ui/journeys")
    page.click("[data-action=new-journey]")
    page.locator("input[data-field=new-name]").fill("Cart abandonment (canvas)")
    page.locator("input[data-field=new-key]").fill(key)
    page.locator("input[data-field=new-key]").press("Enter")
    page.wait_for_selector("[data-entry-form]")
    wait = add_step(page, "wait_for_event", "wait_order")
    wait.locator("input[data-field=event]").fill("Order Completed")

    # saving before the entry has its event: refused, the problem named, nothing lost
    page.click("[data-action=save]")
    expect(page.locator("[data-canvas-status=bad]")).to_be_visible()
    expect(page.locator("[data-save-state=dirty]")).to_be_visible()
    expect(page.locator("[data-canvas-node=entry] [data-first-problem]")).to_have_text(
        words["required"]
    )
    assert (
        httpx.get(
            f"{served.base_url}/api/journeys/{key}",
            headers={"Authorization": f"Bearer {served.admin_token}"},
            timeout=30,
        ).status_code
        == 404
    )
    page.locator("[data-problem-node=entry]").first.click()  # the problem list leads there
    entry_event = page.locator("[data-entry-form] input[data-field='entry.event']")
    expect(entry_event).to_have_attribute("aria-invalid", "true")
    entry_event.fill("Product Added")
    expect(page.locator("[data-canvas-node=entry] [data-summary]")).to_contain_text("Product Added")
    expect(page.locator("[data-canvas-node=entry] [data-problem-count]")).to_have_count(0)

    select_node(page, "wait_order")
    wait = form(page, "wait_order")
    expect(wait.locator("input[data-field=event]")).to_have_value("Order Completed")
    wait.locator("[data-field=timeout] input").first.fill("1")
    choose(page, wait.locator("[data-field=timeout] input").nth(1), words["hour"])
    expect(page.locator("[data-canvas-node=wait_order] [data-summary]")).to_contain_text(
        "1 hour" if language == "en" else "1 Stunde"
    )
    add_step(page, "exit", "ordered").locator("input[data-field=reason]").fill("ordered in time")

    select_node(page, "wait_order")  # the reminder follows its open output: the timeout
    reminder = add_step(page, "send", "reminder_email")
    problem = page.locator("[data-canvas-node=reminder_email] [data-first-problem]")
    expect(problem).to_have_text(words["required"])  # no template yet: shown on the node
    reminder.locator("input[data-field=template]").click()
    page.get_by_role("option", name=re.compile(r"^cart-reminder — ")).click()
    expect(problem).to_have_count(0)

    day = add_step(page, "wait", "wait_day")
    day.locator("[data-field=duration] input").first.fill("1")
    choose(page, day.locator("[data-field=duration] input").nth(1), words["day"])

    branch = add_step(page, "branch", "cart_value")
    condition = branch.locator("[data-condition=trait]")
    condition.locator("input:not([type=hidden])").first.fill("cart_value")
    choose(page, condition.locator("input:not([type=hidden])").nth(1), words["gt"])
    condition.locator("input:not([type=hidden])").nth(2).fill("100")
    expect(branch.locator("[data-rule-words]")).to_contain_text("100")
    sms = add_step(page, "send", "reminder_sms")
    choose(page, sms.locator("input[data-field=channel]"), words["sms"])
    sms.locator("input[data-field=template]").click()
    page.get_by_role("option", name="cart-reminder-sms", exact=True).click()
    select_node(page, "cart_value")
    add_step(page, "exit", "no_sms")

    # a step nothing leads to: only the engine sees that, and says so on the step
    page.locator(".react-flow__pane").click(position={"x": 20, "y": 20})
    page.click("[data-palette-item=exit]")
    orphan = page.locator("[data-canvas-node=exit_1]")
    expect(orphan.locator("[data-first-problem]")).to_have_text(words["unreachable"])
    page.keyboard.press("Delete")  # the Delete key removes the selected step
    expect(orphan).to_have_count(0)
    page.locator(".react-flow__pane").click(position={"x": 20, "y": 20})
    expect(page.locator("[data-problems-none]")).to_have_text(words["none"])

    page.click("[data-action=save]")
    expect(page.locator("[data-save-state=saved]")).to_be_visible()

    choose(page, page.locator("input[data-field=simulate-days]"), words["days30"])
    page.click("[data-action=simulate]")
    expect(page.locator("[data-simulation]")).to_be_visible()
    draft = served.api(f"/api/journeys/{key}")["draft"]
    expected = httpx.post(
        served.base_url + "/api/journeys/simulate?days=30",
        json=draft,
        headers={"Authorization": f"Bearer {served.admin_token}"},
        timeout=60,
    ).json()
    assert expected["audience"] > 0, "the demo has carts in the last 30 days"
    expect(page.locator("[data-simulation-audience]")).to_have_attribute(
        "data-simulation-audience", str(expected["audience"])
    )
    for node, count in expected["node_counts"].items():
        badge = page.locator(f"[data-canvas-node={node}] [data-simulated]")
        expect(badge).to_have_attribute("data-simulated", str(count))


def batch(served: Served, write_key: str, messages: list[dict[str, Any]]) -> None:
    answer = httpx.post(
        served.base_url + "/v1/batch", json={"batch": messages}, auth=(write_key, ""), timeout=30
    )
    assert answer.status_code == 200, answer.text


def midday_zone(moment: datetime) -> str:
    """A time zone where ``moment`` is around noon (outside any quiet hours)."""
    offset = (12 - moment.hour + 12) % 24 - 12
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


def test_a_new_user_builds_cart_abandonment_from_nothing_without_yaml(
    studio: StudioBrowser,
    served: Served,
    clockwork: Clockwork,
    smtp_server: MailSink,  # noqa: F811
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    key = "cart-canvas"
    page = studio.page(language="en")
    try:
        build_cart_abandonment(page, served, "en", key)
        assert accessibility_problems(page) == []

        # the file the CLI loads, and back into the canvas unchanged
        with page.expect_download() as download:
            page.get_by_role("button", name="Export").click()
            page.click("[data-export=yaml]")
        exported = tmp_path / download.value.suggested_filename
        download.value.save_as(exported)
        assert exported.name == f"{key}.yaml"
        draft = served.api(f"/api/journeys/{key}")["draft"]
        assert yaml.safe_load(exported.read_text(encoding="utf-8")) == draft
        env = {
            "PARTITUR_DATABASE_URL": served.database_url,
            "PARTITUR_VAR_DIR": str(served.home / "var"),
        }
        checked = subprocess.run(
            [sys.executable, "-m", "partitur", "journeys", "validate", str(exported), "--json"],
            env={**os.environ, **env}, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert json.loads(checked.stdout) == {"valid": True, "problems": []}
        page.locator("input[type=file]").set_input_files(str(exported))
        expect(page.locator("[data-canvas-status=good]")).to_contain_text(exported.name)
        expect(page.locator("[data-save-state=saved]")).to_be_visible()  # nothing changed

        page.click("[data-action=publish]")
        expect(page.locator("[data-live-panel]")).to_be_visible()
        assert served.api(f"/api/journeys/{key}")["status"] == "active"
        assert accessibility_problems(page) == []
        screenshots(page, "journey-canvas-built-live", "en")

        # a shopper adds to the cart; the canvas counts move without a reload
        write_key = next(s["write_key"] for s in served.api("/api/sources") if s.get("write_key"))
        email = "canvas.shopper@example.com"
        reminder_at = datetime.now(UTC) + timedelta(hours=1, minutes=2)
        context = {"timezone": midday_zone(reminder_at), "locale": "en-GB"}
        traits = {"email": email, "first_name": "Carla", "cart_value": 180}
        shopper = {"userId": "canvas-shopper", "context": context}
        batch(served, write_key, [{"type": "identify", "traits": traits, **shopper}])
        clockwork.run()
        (person,) = served.api("/api/profiles/search", q=email)
        consent = httpx.post(
            served.base_url + "/api/channels/consents",
            json={"profile_id": person["id"], "channel": "email", "status": "granted"},
            headers={"Authorization": f"Bearer {served.admin_token}"},
            timeout=30,
        )
        assert consent.status_code < 300, consent.text
        added = {"event": "Product Added", "properties": {"price": 180, "product_id": "p-1"}}
        batch(served, write_key, [{"type": "track", **added, **shopper}])
        clockwork.run()
        waiting = page.locator("[data-canvas-node=wait_order] [data-kpi=waiting] b")
        expect(waiting).to_have_text("1", timeout=15_000)

        clockwork.run(later=timedelta(hours=1, minutes=2))  # the hour passes: no order came
        sent = page.locator("[data-canvas-node=reminder_email] [data-kpi=sent] b")
        expect(sent).to_have_text("1", timeout=15_000)
        expect(page.locator("[data-canvas-node=wait_day] [data-kpi=waiting] b")).to_have_text("1")
        expect(waiting).to_have_text("0")
        # the reminder went out through the real SMTP sink (the demo's own cart journey,
        # also entered on "Product Added", sends the shopper its reminder too)
        journey_id = served.api(f"/api/journeys/{key}")["id"]
        messages = served.api("/api/channels/messages", profile_id=person["id"])["items"]
        (mine,) = [m for m in messages if m["journey_id"] == journey_id]
        assert (mine["node_id"], mine["status"], mine["recipient"]) == (
            "reminder_email",
            "sent",
            email,
        )
        sent_to_shopper = [m for m in messages if m["channel"] == "email" and m["sent_at"]]
        mails = [m for m in smtp_server.mails if email in str(m["To"])]
        assert len(mails) == len(sent_to_shopper) >= 1
        assert all("cart" in str(m["Subject"]).lower() for m in mails)
        assert page.evaluate("window.__partiturMissingKeys") == []

        page.click("[data-action=pause]")
        expect(page.locator("[data-live-panel]")).to_contain_text("The journey is paused")
        assert served.api(f"/api/journeys/{key}")["status"] == "paused"
        page.click("[data-action=resume]")
        expect(page.locator("[data-action=pause]")).to_be_visible()
        assert served.api(f"/api/journeys/{key}")["status"] == "active"
    finally:
        page.context.close()


def test_the_same_journey_is_built_in_german_with_every_word_from_the_catalogue(
    studio: StudioBrowser, served: Served
) -> None:
    from playwright.sync_api import expect

    key = "cart-canvas-de"
    page = studio.page(language="de")
    try:
        build_cart_abandonment(page, served, "de", key)
        expect(page.get_by_role("button", name="Veröffentlichen")).to_be_visible()
        screenshots(page, "journey-canvas-built", "de")
        page.click("[data-action=publish]")
        expect(page.locator("[data-live-panel]")).to_contain_text("Live")
        assert accessibility_problems(page) == []
        assert page.evaluate("window.__partiturMissingKeys") == []
        text = page.locator("body").inner_text()
        assert not re.search(r"\b(canvas|ruleBuilder|pickers|duration)\.[a-zA-Z]", text), text
    finally:
        page.context.close()
