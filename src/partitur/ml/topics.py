"""Topics in German and English customer comments: TF-IDF + NMF with readable labels.

Labels are the two or three strongest terms of a topic ("lieferung / paket / spät").
Stop words of both languages are removed. German and English comments share few words, so a
mixed set would mostly split by language: ``find_topics`` therefore fits each detected language
separately and numbers the topics across languages.
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import NMF
from sklearn.feature_extraction.text import TfidfVectorizer

from partitur.ml.contracts import Topic, TopicModel
from partitur.ml.lexicon import de, en
from partitur.ml.sentiment import Language, detect_language

_EXTRA_STOPWORDS = {
    "ist",
    "sind",
    "war",
    "waren",
    "hat",
    "haben",
    "habe",
    "wurde",
    "wurden",
    "kann",
    "können",
    "mehr",
    "sehr",
    "gibt",
    "seit",
    "mal",
    "ja",
    "nein",
    "jetzt",
    "dann",
    "diese",
    "dieser",
    "dieses",
    "ihnen",
    "mein",
    "meinen",
    "meiner",
    "meines",
    "the",
    "a",
    "an",
    "is",
    "are",
    "was",
    "were",
    "i",
    "me",
    "my",
    "we",
    "you",
    "it",
    "its",
    "this",
    "that",
    "be",
    "been",
    "has",
    "have",
    "had",
    "to",
    "of",
    "in",
    "on",
    "for",
    "with",
    "at",
    "by",
    "from",
    "and",
    "or",
    "but",
    "not",
    "no",
    "so",
    "very",
    "just",
    "also",
    "again",
    "im",
    "ive",
    "dont",
}
STOPWORDS = sorted(set(de.STOPWORDS) | set(en.STOPWORDS) | _EXTRA_STOPWORDS)


def find_topics(
    texts: list[str], *, n_topics: int = 5, top_terms: int = 6, seed: int = 0
) -> TopicModel:
    """Fit up to ``n_topics`` topics per language; each text is assigned its strongest topic
    (-1 if none). Raises ``ValueError`` when there are fewer texts than topics."""
    if n_topics < 1:
        raise ValueError("n_topics must be at least 1")
    if len(texts) < n_topics:
        raise ValueError(f"need at least {n_topics} texts for {n_topics} topics")
    languages = [detect_language(t) for t in texts]
    topics: list[Topic] = []
    assignments = [-1] * len(texts)
    languages_in_order: tuple[Language, ...] = ("de", "en")
    for language in languages_in_order:
        index = [i for i, lang in enumerate(languages) if lang == language]
        if not index:
            continue
        k = min(n_topics, len(index))
        part = _fit([texts[i] for i in index], k, top_terms, seed, language, len(topics))
        for i, topic in zip(index, part.assignments, strict=True):
            assignments[i] = topic
        topics.extend(part.topics)
    return TopicModel(topics=topics, assignments=assignments)


def _fit(
    texts: list[str], n_topics: int, top_terms: int, seed: int, language: Language, offset: int
) -> TopicModel:
    vectorizer = TfidfVectorizer(
        lowercase=True,
        stop_words=STOPWORDS,
        token_pattern=r"(?u)\b[^\W\d_]{3,}\b",
        ngram_range=(1, 2),
        min_df=2 if len(texts) >= 20 else 1,
        max_df=0.6,
        sublinear_tf=True,
    )
    matrix = vectorizer.fit_transform(texts)
    terms = np.asarray(vectorizer.get_feature_names_out())
    components = min(n_topics, matrix.shape[1])
    model = NMF(n_components=components, init="nndsvda", random_state=seed, max_iter=2000)
    weights = model.fit_transform(matrix)
    assignments = np.where(weights.max(axis=1) > 0, weights.argmax(axis=1), -1)
    topics = []
    for index, row in enumerate(model.components_):
        order = np.argsort(row)[::-1][:top_terms]
        keywords = [str(terms[i]) for i in order if row[i] > 0]
        label_terms: list[str] = []
        for word in keywords:  # skip a bigram's parts that are already in the label
            if not any(word in chosen or chosen in word for chosen in label_terms):
                label_terms.append(word)
            if len(label_terms) == 3:
                break
        topics.append(
            Topic(
                id=offset + index,
                language=language,
                label=" / ".join(label_terms) or f"topic {index}",
                keywords=keywords,
                size=int((assignments == index).sum()),
            )
        )
    return TopicModel(
        topics=topics, assignments=[int(a) + offset if a >= 0 else -1 for a in assignments]
    )
