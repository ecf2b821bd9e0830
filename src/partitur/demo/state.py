"""The state the parts of the demo generator share.

The generator is one object whose story is told by theme in several modules: the core in
``generator`` (calendar, catalogue, customers, contexts), the web and app sessions with their
orders in ``sessions``, the service desk in ``service_desk`` and marketing and CRM in
``marketing``. Each part is a mixin over ``StoryState``, which declares the attributes the core
sets up and the methods one part calls in another, so that mypy checks every part on its own and
``_Generator`` cannot be built while one of them is missing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from partitur.demo import texts

if TYPE_CHECKING:
    from partitur.demo.generator import Customers, DemoConfig, DemoFacts, MessageBuilder


class StoryState(ABC):
    """Attributes and shared draws of the demo generator (set up by ``generator._Generator``)."""

    cfg: DemoConfig
    #: the one random stream: every part draws from it in a fixed order (determinism)
    rng: np.random.Generator
    out: MessageBuilder
    facts: DemoFacts
    #: first day of the window, its UTC midnight, and the window's bounds (ms since epoch)
    start_date: date
    day0_ms: int
    start_ms: int
    end_ms: int
    #: IANA names of every region's timezone; customers refer to them by index
    timezones: list[str]
    products: list[dict[str, Any]]
    #: share of each catalogue category in browsing
    cat_weights: np.ndarray
    #: indices of the premium electronics items (the research -> offer journey)
    premium: np.ndarray
    #: context of messages sent by servers (shop, CRM, e-mail, support, surveys, monitoring)
    server_ctx: dict[str, Any]
    #: one context per customer and platform, shared by that customer's messages
    web_ctx: list[dict[str, Any]]
    app_ctx: list[dict[str, Any]]
    #: the regional app outage: region, start and end (ms) and day of the window
    outage: dict[str, Any]
    _order_seq: int
    _ticket_seq: int

    # --- calendar and catalogue (generator) --------------------------------------------------

    @abstractmethod
    def sample_days(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """One day per row, in [lo, hi), following the seasonal day weights."""

    @abstractmethod
    def local_to_ms(self, day: np.ndarray, seconds: np.ndarray, tz: np.ndarray) -> np.ndarray:
        """Local wall time (day of window, seconds after local midnight) -> UTC ms."""

    @abstractmethod
    def sample_local_seconds(self, n: int) -> np.ndarray:
        """``n`` times of day (seconds after local midnight) following the hourly activity."""

    @abstractmethod
    def pick_products(self, categories: np.ndarray) -> np.ndarray:
        """A product per row from the given category indices (popular items more often)."""

    @abstractmethod
    def traits(self, c: Customers, i: int, *, full: bool) -> dict[str, Any]:
        """Identify traits of customer ``i``: what a login knows, or (``full``) the CRM record."""

    # --- the service desk (service_desk), which orders and the outage lead to -----------------

    @abstractmethod
    def _ticket(
        self,
        c: Customers,
        i: int,
        t: int,
        topic: str,
        sentiment: str,
        order_id: str,
        product: str,
        *,
        channel: str | None = None,
    ) -> None:
        """A support ticket of customer ``i`` at ``t``, its resolution and perhaps a CSAT."""

    @abstractmethod
    def _review(
        self,
        c: Customers,
        i: int,
        line: dict[str, Any],
        order_id: str,
        t_deliver: int,
        r: np.ndarray,
        *,
        damaged: bool,
    ) -> None:
        """A product review of the first ``line`` of a delivered order."""

    def _count_text(self, text: texts.Text) -> None:
        by = self.facts.texts_by_language
        by[text.language] = by.get(text.language, 0) + 1
