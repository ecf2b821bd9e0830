"""The FastAPI application factory."""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from partitur import __version__
from partitur.api.fastlane import PartiturApp
from partitur.api.problems import install_problem_handlers
from partitur.context import Context
from partitur.settings import Settings

log = logging.getLogger(__name__)

#: Every domain that serves HTTP exposes ``router`` in ``<domain>/api.py``; listed here once.
ROUTER_MODULES = [
    "partitur.workspaces.api",
    "partitur.events.api",
    "partitur.profiles.api",
    "partitur.segments.api",
    "partitur.journeys.api",
    "partitur.channels.api",
    "partitur.decisions.api",
    "partitur.ml.api",
    "partitur.analytics.api",
    "partitur.journey_maps.api",
    "partitur.privacy.api",
    "partitur.web.api",
]


def create_app(settings: Settings, *, ctx: Context | None = None) -> FastAPI:
    """Build the app. ``ctx`` may be passed in (tests); otherwise the store is opened at start."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = ctx is None
        app.state.ctx = ctx or Context.open(settings)
        try:
            yield
        finally:
            if own:
                app.state.ctx.close()

    app = PartiturApp(
        title="partitur",
        version=__version__,
        description="Customer journey orchestration and journey management API.",
        lifespan=lifespan,
    )
    if ctx is not None:
        app.state.ctx = ctx
    install_problem_handlers(app)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    for name in ROUTER_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # domain without HTTP endpoints yet
            raise
        router: APIRouter = module.router
        app.include_router(router)
    return app
