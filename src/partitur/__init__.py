"""partitur — customer journey orchestration and journey management."""

__version__ = "0.1.0"
