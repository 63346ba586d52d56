"""Errors raised by the explainer package."""

from __future__ import annotations


class ExplainError(ValueError):
    """Bad input or configuration for an explainer (clear message, never a crash)."""
