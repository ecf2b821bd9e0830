"""The pure journey runtime: ``step(state, definition, stimulus, now)``."""
