"""promotion-bot: approval-gated, auditable promotion of governed artifacts."""

__version__ = "0.1.0"
