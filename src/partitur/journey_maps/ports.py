"""What journey maps need from other domains, each behind one function."""

from __future__ import annotations

from collections.abc import Sequence


def sentiment_of(texts: Sequence[str]) -> list[float]:
    """Sentiment (-1..1) of each text, German or English, from the ML domain."""
    from partitur.ml.sentiment import analyse_many

    return [s.score for s in analyse_many(list(texts))]
