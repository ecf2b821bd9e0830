"""The one abstract base every channel plugin implements, and what flows through it.

A plugin is a class registered under the ``partitur.channels`` entry-point group (so a new
provider is a package): ``kind`` names it in provider settings, ``channel`` says what it
delivers. The dispatcher builds one instance per configured provider and reuses it (connection
pools live in the instance), calling ``send(message, context)`` from worker threads.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal

from partitur.channels.contracts import RenderedMessage
from partitur.channels.recipients import Recipient
from partitur.settings import Settings
from partitur.storage.engine import Store

Outcome = Literal["sent", "delivered", "failed", "bounced", "retry"]


class InvalidAddress(ValueError):
    """The profile has no usable address for this channel (missing or malformed)."""


@dataclass
class OutboundMessage:
    id: str
    workspace_id: str
    profile_id: str
    channel: str
    category: str
    template: str | None
    recipient: Recipient
    #: the resolved address: email, E.164 phone, endpoint name, ... (None for in-app)
    to: str | None
    rendered: RenderedMessage | None
    payload: dict[str, Any]
    data: dict[str, Any]
    idempotency_key: str
    attempt: int
    journey_id: str | None = None
    node_id: str | None = None
    priority: int = 0


@dataclass
class DeliveryContext:
    settings: Settings
    store: Store
    now: datetime


@dataclass
class DeliveryResult:
    outcome: Outcome
    provider_message_id: str | None = None
    error: str | None = None
    #: seconds the provider asked us to wait (retry outcome)
    retry_after: float | None = None
    #: device tokens the provider reported invalid (push)
    invalid_tokens: list[str] = field(default_factory=list)
    cost: Decimal | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def retry(cls, error: str, retry_after: float | None = None) -> DeliveryResult:
        return cls("retry", error=error, retry_after=retry_after)

    @classmethod
    def failed(cls, error: str) -> DeliveryResult:
        return cls("failed", error=error)


class Channel(ABC):
    """A delivery plugin. Subclasses set ``kind`` and ``channel`` and implement ``send``."""

    kind: ClassVar[str]
    channel: ClassVar[str]
    #: whether messages of this channel render a template before sending
    needs_template: ClassVar[bool] = True
    #: ``customer``: the message reaches the customer (a touchpoint for attribution);
    #: ``internal``: it goes to people or systems of the business (agents, a CRM)
    audience: ClassVar[Literal["customer", "internal"]] = "customer"

    def __init__(
        self, *, name: str, config: dict[str, Any], secrets: dict[str, str], settings: Settings
    ) -> None:
        self.name = name
        self.config = config
        self.secrets = secrets
        self.settings = settings

    def address(self, recipient: Recipient, payload: dict[str, Any]) -> str | None:
        """The address to deliver to; raises ``InvalidAddress`` when there is none."""
        return None

    def endpoint(self, message: OutboundMessage) -> str:
        """The circuit-breaker and rate-limit key of a message (the provider by default)."""
        return self.name

    @abstractmethod
    def send(self, message: OutboundMessage, context: DeliveryContext) -> DeliveryResult:
        """Deliver one message. Never raises for provider trouble: returns ``retry`` for
        transient failures, ``failed``/``bounced`` for permanent ones."""

    def close(self) -> None:  # noqa: B027 - optional hook, most plugins hold nothing
        """Release connections."""
