"""Project-authored sentiment lexicons (Apache-2.0, part of partitur).

Values run from -3 (very negative) to +3 (very positive). Entries ending in ``*`` are stems
that match any word starting with them (German inflection: ``enttäusch*`` matches
``enttäuscht``, ``enttäuschend``, ``Enttäuschung``). Multi-word entries are phrases matched
before single words. Written for customer-service language: support tickets, reviews and
survey comments. Intent words (cancel, kündigen) are not sentiment and are left out.
"""

#: Emoji in customer texts, shared by both languages (a text with no word in the lexicon but a
#: "👎" is not neutral).
EMOJI: dict[str, float] = {
    "👍": 2.0,
    "👏": 2.0,
    "🙂": 1.5,
    "😊": 2.2,
    "😀": 2.2,
    "😃": 2.2,
    "😄": 2.4,
    "😁": 2.2,
    "😍": 2.8,
    "🥰": 2.8,
    "❤": 2.6,
    "💯": 2.4,
    "⭐": 1.5,
    "🎉": 2.0,
    "🙏": 1.2,
    "👎": -2.2,
    "🙁": -1.8,
    "☹": -1.8,
    "😞": -2.0,
    "😒": -1.8,
    "😢": -2.0,
    "😭": -2.4,
    "😠": -2.5,
    "😡": -2.8,
    "🤬": -3.0,
    "😤": -2.2,
    "😩": -2.2,
    "💩": -2.6,
}
