"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from partitur import __version__
from partitur.access import api as access_api
from partitur.analytics import api as analytics_api
from partitur.api.fastlane import PartiturApp
from partitur.api.problems import install_problem_handlers
from partitur.channels import api as channels_api
from partitur.context import Context
from partitur.decisions import api as decisions_api
from partitur.events import api as events_api
from partitur.identity import api as identity_api
from partitur.journey_maps import api as maps_api
from partitur.journeys import api as journeys_api
from partitur.ml import api as ml_api
from partitur.privacy import api as privacy_api
from partitur.profiles import api as profiles_api
from partitur.segments import api as segments_api
from partitur.settings import Settings
from partitur.web import api as web_api
from partitur.workspaces import api as workspaces_api

log = logging.getLogger(__name__)

#: Every router, listed once (a module that fails to import stops the server with its error).
ROUTERS: list[APIRouter] = [
    workspaces_api.router,
    access_api.router,
    events_api.router,
    identity_api.router,
    profiles_api.router,
    segments_api.router,
    journeys_api.router,
    journeys_api.review_router,
    channels_api.router,
    decisions_api.router,
    ml_api.router,
    analytics_api.router,
    maps_api.router,
    privacy_api.router,
    web_api.router,
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

    for router in ROUTERS:
        app.include_router(router)
    return app
