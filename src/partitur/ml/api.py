"""HTTP API of the ml domain: sentiment, topics and the model registry."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from partitur.api.deps import AdminPrincipal, ContextDep, ReadPrincipal
from partitur.ml import registry
from partitur.ml import service as ml_service
from partitur.ml.contracts import (
    ClvReport,
    ModelComparison,
    ModelVersion,
    ScoreResult,
    Sentiment,
    TopicModel,
)
from partitur.ml.sentiment import analyse
from partitur.ml.topics import find_topics

router = APIRouter(prefix="/api/ml", tags=["ml"])


class SentimentRequest(BaseModel):
    texts: list[str] = Field(min_length=1, max_length=1000)
    language: str | None = Field(default=None, pattern="^(de|en)$")


class TopicsRequest(BaseModel):
    texts: list[str] = Field(min_length=2, max_length=20_000)
    topics: int = Field(default=5, ge=1, le=50)


@router.post("/sentiment", response_model=list[Sentiment])
def sentiment(body: SentimentRequest, who: ReadPrincipal) -> list[Sentiment]:
    """Sentiment (-1..1, label, language) of German or English texts."""
    return [analyse(t, language=body.language) for t in body.texts]  # type: ignore[arg-type]


@router.post("/topics", response_model=TopicModel)
def topics(body: TopicsRequest, who: ReadPrincipal) -> TopicModel:
    """Topics with readable labels (TF-IDF + NMF, per language)."""
    from partitur.core.errors import ValidationFailed

    try:
        return find_topics(body.texts, n_topics=body.topics)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="texts") from exc


@router.get("/models", response_model=list[ModelVersion])
def models(ctx: ContextDep, who: ReadPrincipal) -> list[ModelVersion]:
    with ctx.store.read() as conn:
        return registry.list_versions(conn, workspace_id=who.workspace_id)


@router.post("/models/{name}/versions/{version}/activate", response_model=ModelVersion)
def activate(name: str, version: int, ctx: ContextDep, who: AdminPrincipal) -> ModelVersion:
    with ctx.store.begin() as conn:
        return registry.activate_version(
            conn,
            workspace_id=who.workspace_id,
            name=name,
            version=version,
            now=ctx.clock.now(),
            actor=who,
        )


class ScoreRequest(BaseModel):
    profile_id: str = Field(min_length=1)


@router.post("/models/{name}/score", response_model=ScoreResult)
def score(name: str, body: ScoreRequest, ctx: ContextDep, who: ReadPrincipal) -> ScoreResult:
    """Score one profile now with the active version of a model (on demand)."""
    with ctx.store.read() as conn:
        return ml_service.score_profile(
            conn,
            workspace_id=who.workspace_id,
            profile_id=body.profile_id,
            now=ctx.clock.now(),
            var_dir=ctx.settings.var_dir,
            name=name,
            currency=ctx.settings.currency(),
        )


@router.get("/models/{name}/comparison", response_model=ModelComparison)
def comparison(
    name: str, ctx: ContextDep, who: ReadPrincipal, version: int | None = None
) -> ModelComparison:
    """A propensity model version (default: the newest) against its logistic baseline."""
    with ctx.store.read() as conn:
        return ml_service.model_comparison(
            conn, workspace_id=who.workspace_id, name=name, version=version
        )


@router.get("/models/clv/report", response_model=ClvReport)
def clv_report(ctx: ContextDep, who: ReadPrincipal) -> ClvReport:
    """The active CLV model's holdout validation: predicted against actual purchases per
    frequency and in deciles, correlation, the spend model's status and the currency."""
    with ctx.store.read() as conn:
        return ml_service.latest_clv_report(conn, workspace_id=who.workspace_id)
