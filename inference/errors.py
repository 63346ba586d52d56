"""Exception hierarchy of the inference engine.

Every error the engine raises on purpose derives from `InferenceError`, so callers (the
app, the CLI) can catch one type and show its message to the operator.
"""

from __future__ import annotations

__all__ = [
    "Cancelled",
    "DataError",
    "ImageDecodeError",
    "InferenceError",
    "ModelLoadError",
]


class InferenceError(Exception):
    """Base class of all deliberate inference-engine errors."""


class ModelLoadError(InferenceError):
    """A model folder or weight file cannot be loaded (missing, corrupt, tampered,
    ...)."""


class ImageDecodeError(InferenceError):
    """An image file or buffer cannot be decoded into RGB pixels."""


class Cancelled(InferenceError):
    """A long-running operation was cancelled by the caller."""


class DataError(InferenceError, ValueError):
    """Input data are malformed (wrong shapes, out-of-range values, empty sets, ...)."""
