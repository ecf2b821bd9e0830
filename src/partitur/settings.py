"""Settings, read once at start-up from the environment (``PARTITUR_*``) and passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from partitur.core.money import ReportingCurrency


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARTITUR_", env_file=None, extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/partitur.db",
        description="SQLAlchemy URL: sqlite:///path or postgresql+pg8000://user@host/db",
    )
    #: SQLite durability: FULL fsyncs the WAL at each commit (group commit keeps it fast).
    sqlite_synchronous: str = "FULL"
    #: DuckDB analytics over SQLite read a copy of the database refreshed after changes, at most
    #: this often (0: always current). See Store.sqlite_snapshot.
    analytics_snapshot_seconds: float = 0.0
    base_url: str = "http://127.0.0.1:8000"
    #: Key for signing links (unsubscribe, click tracking) and encrypting provider secrets.
    #: Empty: generated on first start into ``var_dir/secret_key`` (see core/secret_key.py).
    secret_key: str = ""
    workspace: str = "default"
    redis_url: str | None = None
    #: Hosts, addresses and networks (CIDR) partitur may send requests to although they are not
    #: public (loopback, private, link-local), e.g. ["127.0.0.1"] for the demo's sinks; JSON
    #: in PARTITUR_OUTBOUND_ALLOWED_HOSTS. See core/outbound.py.
    outbound_allowed_hosts: list[str] = Field(default_factory=list)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    log_level: str = "INFO"
    #: Trait names whose values are external ids for identity resolution.
    identity_external_id_traits: list[str] = Field(default_factory=lambda: ["crm_id"])
    #: Values that never link identities (compared case-insensitively).
    identity_blocked_values: list[str] = Field(
        default_factory=lambda: ["", "0", "-1", "null", "none", "undefined", "anonymous", "nan"]
    )
    dedupe_window_days: int = 7
    #: Journey event consumers per worker, one per shard of profiles (crc32 % shards); workers
    #: share the shards. Keep it the same in every process; more than 1 only pays with several
    #: workers (see journeys/loops.py).
    journey_shards: int = 1
    #: Seconds a stopping worker gives its loops to finish the pass they are in before it
    #: exits without them (their open transactions roll back); see worker.py.
    worker_stop_seconds: float = 20.0
    var_dir: Path = Path("var")
    #: Revenue, CLV, KPIs and value tiers are reported in this currency ...
    reporting_currency: str = "EUR"
    #: ... with these rates: units of the reporting currency per unit of each currency
    #: (JSON in PARTITUR_CURRENCY_RATES, e.g. {"EUR": 1, "GBP": 1.16, "USD": 0.93}).
    currency_rates: dict[str, float] = Field(
        default_factory=lambda: {"EUR": 1.0, "GBP": 1.16, "USD": 0.93, "CHF": 1.05}
    )

    def currency(self) -> ReportingCurrency:
        """The reporting currency with its conversion rates."""
        return ReportingCurrency(code=self.reporting_currency, rates=self.currency_rates)


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides (tests, CLI options)."""
    return Settings(**overrides)  # type: ignore[arg-type]
