"""What journey maps need from other domains, each behind one function."""

from __future__ import annotations

from collections.abc import Sequence

from partitur.ml import service as ml


def sentiment_of(texts: Sequence[str]) -> list[float]:
    """Sentiment (-1..1) of each text, German or English, from the ML domain."""
    return [s.score for s in ml.analyse_sentiments(list(texts))]
