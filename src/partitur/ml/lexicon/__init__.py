"""Project-authored sentiment lexicons (Apache-2.0, part of partitur).

Values run from -3 (very negative) to +3 (very positive). Entries ending in ``*`` are stems
that match any word starting with them (German inflection: ``enttäusch*`` matches
``enttäuscht``, ``enttäuschend``, ``Enttäuschung``). Multi-word entries are phrases matched
before single words. Written for customer-service language: support tickets, reviews and
survey comments. Intent words (cancel, kündigen) are not sentiment and are left out.
"""
