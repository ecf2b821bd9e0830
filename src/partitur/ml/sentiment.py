"""Sentiment of German and English customer texts, offline: language detection, a lexicon
with phrases, negation (also German post-verbal ``nicht``), boosters and contrast words.

The lexicons in ``partitur.ml.lexicon`` are written for this project (no third-party word
lists). Scores run from -1 to 1 (``s / sqrt(s^2 + 15)`` of the summed valences, as in VADER);
``|score| < 0.15`` is neutral.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import Literal

from partitur.ml.contracts import Sentiment
from partitur.ml.lexicon import EMOJI, de, en

Language = Literal["de", "en"]

NEUTRAL_BAND = 0.15
_NEGATION_FACTOR = -0.75
_ALPHA = 15.0
_EMOJI_CLASS = (
    "\U0001f300-\U0001f5ff\U0001f600-\U0001f64f\U0001f680-\U0001f6ff"
    "\U0001f900-\U0001f9ff\u2600-\u27bf\u2b50"
)
_TOKEN = re.compile(
    r"[a-zA-ZäöüÄÖÜß0-9]+(?:[-'’][a-zA-ZäöüÄÖÜß0-9]+)*|[.!?;,:]|[" + _EMOJI_CLASS + "]"
)
#: words that start a new clause for German post-verbal negation ("war unfreundlich und hat
#: nicht zugehört": the "nicht" belongs to "zugehört", not to "unfreundlich")
_CLAUSE_JOINS = frozenset({"und", "oder", "weil", "dass", "denn", "sondern", "obwohl"})
#: sentiment words in a question count this much ("how does the bonus programme work?")
_QUESTION_FACTOR = 0.4
#: compound heads are looked up from this many letters on ("Lieferverzögerung" -> verzögerung)
_MIN_HEAD = 4
_CLAUSE_END = frozenset(".!?;,:")
_GERMAN_CHARS = re.compile(r"[äöüß]")


@dataclass(frozen=True)
class _Lexicon:
    language: Language
    words: dict[str, float]
    stems: list[tuple[str, float]]
    phrases: dict[tuple[str, ...], float]
    longest_phrase: int
    negations: frozenset[str]
    boosters: dict[str, float]
    contrasts: frozenset[str]
    stopwords: frozenset[str]
    compound_prefixes: dict[str, float]
    intensifier_prefixes: dict[str, float]


@lru_cache(maxsize=2)
def _lexicon(language: Language) -> _Lexicon:
    module: ModuleType = de if language == "de" else en
    words: dict[str, float] = {}
    stems: list[tuple[str, float]] = []
    for entry, value in module.WORDS.items():
        if entry.endswith("*"):
            stems.append((entry[:-1], value))
        elif " " in entry:
            continue
        else:
            words[entry.rstrip("!")] = value
    stems.sort(key=lambda item: -len(item[0]))  # the longest stem wins
    phrases = {tuple(p.split()): v for p, v in module.PHRASES.items()}
    phrases.update({tuple(w.split()): v for w, v in module.WORDS.items() if " " in w})
    words.update(EMOJI)
    return _Lexicon(
        language=language,
        words=words,
        stems=stems,
        phrases=phrases,
        longest_phrase=max(len(p) for p in phrases),
        negations=module.NEGATIONS,
        boosters=module.BOOSTERS,
        contrasts=module.CONTRASTS,
        stopwords=module.STOPWORDS,
        compound_prefixes=getattr(module, "COMPOUND_PREFIXES", {}),
        intensifier_prefixes=getattr(module, "INTENSIFIER_PREFIXES", {}),
    )


def tokenize(text: str) -> list[str]:
    """Lower-case word and punctuation tokens; ``don’t`` keeps its apostrophe as ``don't``."""
    return [t.replace("’", "'") for t in _TOKEN.findall(text.lower())]


_DE_CUES = re.compile(r"sch|cht|ung$|keit$|heit$|lich$|chen$|^ge\w+t$|^be\w{4,}|^ver\w{3,}|z")
_EN_CUES = re.compile(r"th|wh|ing$|tion$|ly$|ed$|ck|w")


def detect_language(text: str) -> Language:
    """``de`` or ``en``: stop words count 1, German letters (ä ö ü ß) 2, letter patterns
    typical of either language (``sch``, ``-ung``; ``th``, ``-ing``) 0.5 per word, and a
    sentiment word only one language's lexicon knows 1. English on a tie."""
    tokens = [t for t in tokenize(text) if t not in _CLAUSE_END]
    de_hits = sum(1.0 for t in tokens if t in _lexicon("de").stopwords)
    en_hits = sum(1.0 for t in tokens if t in _lexicon("en").stopwords)
    de_hits += 0.5 * sum(1 for t in tokens if _DE_CUES.search(t))
    en_hits += 0.5 * sum(1 for t in tokens if _EN_CUES.search(t))
    if _GERMAN_CHARS.search(text.lower()):
        de_hits += 2
    # a sentiment word only one of the lexicons knows ("Geldverschwendung", "gerne")
    de_lex, en_lex = _lexicon("de"), _lexicon("en")
    for t in tokens:
        in_de, in_en = bool(_valence(t, de_lex)), bool(_valence(t, en_lex))
        de_hits += in_de and not in_en
        en_hits += in_en and not in_de
    return "de" if de_hits > en_hits else "en"


def _valence(token: str, lex: _Lexicon) -> float:
    if token in lex.words:
        return lex.words[token]
    if len(token) >= 4:
        for stem, value in lex.stems:
            if token.startswith(stem):
                return value
    if lex.language == "de" and len(token) >= 7:
        return _compound_valence(token, lex.language)
    return 0.0


@lru_cache(maxsize=20_000)
def _compound_valence(token: str, language: Language) -> float:
    """German compounds carry the sentiment of their head (the last part) or of an evaluative
    first part: "Lieferverzögerung" (verzögerung), "Riesenlob" (riesen- intensifies lob),
    "Spitzenservice" (spitzen-), "Topqualität" (top-). The longest head found wins."""
    lex = _lexicon(language)
    for prefix, factor in lex.intensifier_prefixes.items():
        rest = token[len(prefix) :]
        if token.startswith(prefix) and len(rest) >= 3:
            value = lex.words.get(rest, 0.0) or next(
                (v for stem, v in lex.stems if rest.startswith(stem)), 0.0
            )
            if value:
                return value * factor
    for k in range(3, len(token) - _MIN_HEAD + 1):
        head = token[k:]
        if head in lex.words:
            return lex.words[head]
        for stem, value in lex.stems:
            if len(stem) >= _MIN_HEAD and head.startswith(stem):
                return value
    for prefix, value in lex.compound_prefixes.items():
        if token.startswith(prefix) and len(token) - len(prefix) >= 4:
            return value
    return 0.0


def _is_negation(token: str, lex: _Lexicon) -> bool:
    return token in lex.negations or token.endswith("n't")


def analyse(text: str, *, language: Language | None = None) -> Sentiment:
    """Score one text. ``language`` is detected when not given."""
    lang: Language = language or detect_language(text)
    lex = _lexicon(lang)
    tokens = tokenize(text)
    # 1. phrases first (they consume their tokens), then words
    items: list[tuple[int, str, float, bool]] = []  # (position, text, valence, is_phrase)
    i = 0
    while i < len(tokens):
        matched = False
        for size in range(min(lex.longest_phrase, len(tokens) - i), 1, -1):
            candidate = tuple(tokens[i : i + size])
            if candidate in lex.phrases:
                items.append((i, " ".join(candidate), lex.phrases[candidate], True))
                i += size
                matched = True
                break
        if matched:
            continue
        token = tokens[i]
        value = _valence(token, lex)
        if value and token in lex.boosters:
            following = next((t for t in tokens[i + 1 : i + 3] if _valence(t, lex)), None)
            if following is not None:
                value = 0.0  # "super schnell": super boosts schnell
        if value:
            items.append((i, token, value, False))
        i += 1
    consumed = {
        pos + k for pos, word, _, phrase in items if phrase for k in range(len(word.split()))
    }
    contrast_at = max(
        (j for j, t in enumerate(tokens) if t in lex.contrasts and j > 0), default=None
    )

    questions = _in_question(tokens)
    total = 0.0
    matched_words: list[str] = []
    for pos, word, value, phrase in items:
        scaled = value
        if not phrase:
            # boosters and negations in the three tokens before, within the clause
            for back in range(1, 4):
                j = pos - back
                if j < 0 or tokens[j] in _CLAUSE_END or j in consumed:
                    break
                if tokens[j] in lex.boosters:
                    scaled *= lex.boosters[tokens[j]]
                elif _is_negation(tokens[j], lex):
                    scaled *= _NEGATION_FACTOR
                    break
            if lang == "de" and scaled == value:
                # German puts "nicht" after the verb: "gefällt mir nicht", "funktioniert seit
                # gestern nicht" — a "nicht" later in the clause with no other sentiment word
                # in between negates this word.
                for k in range(pos + 1, len(tokens)):
                    if tokens[k] in _CLAUSE_END or tokens[k] in _CLAUSE_JOINS or k in consumed:
                        break
                    if _valence(tokens[k], lex) and tokens[k] not in lex.boosters:
                        break
                    if tokens[k] in ("nicht", "nie", "niemals"):
                        scaled *= _NEGATION_FACTOR
                        break
        if contrast_at is not None:
            scaled *= 0.5 if pos < contrast_at else 1.5
        if questions[pos]:
            scaled *= _QUESTION_FACTOR
        total += scaled
        matched_words.append(word)
    exclamations = min(text.count("!"), 4)
    if total and exclamations:
        total += math.copysign(0.292 * exclamations, total)
    score = total / math.sqrt(total * total + _ALPHA) if total else 0.0
    score = max(-1.0, min(1.0, score))
    label: Literal["negative", "neutral", "positive"] = (
        "positive" if score >= NEUTRAL_BAND else "negative" if score <= -NEUTRAL_BAND else "neutral"
    )
    return Sentiment(score=round(score, 4), label=label, language=lang, matched=matched_words)


#: a question with one of these words is a complaint, not a request ("why is it so hard ...")
_RHETORICAL = frozenset({"why", "warum", "wieso", "weshalb"})


def _in_question(tokens: list[str]) -> list[bool]:
    """Per token: is its sentence a plain question (ends with "?", no "why")?"""
    out = [False] * len(tokens)
    end = len(tokens)
    for i in range(len(tokens), -1, -1):
        if i == 0 or tokens[i - 1] in (".", "!", "?"):
            sentence = tokens[i:end]
            asking = bool(sentence) and sentence[-1] == "?"
            asking = asking and not _RHETORICAL.intersection(sentence)
            for j in range(i, end):
                out[j] = asking
            end = i
    return out


def analyse_many(texts: list[str]) -> list[Sentiment]:
    return [analyse(t) for t in texts]
