"""Errors raised by the generation library.

Every error carries a stable ``code`` (for APIs and tests) and a message written for
the merchant: it names the problem and, where possible, what to do about it.
"""

from __future__ import annotations


class GenerationError(Exception):
    """Base class; ``code`` is a short machine-readable slug."""

    code = "generation_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class ImageRejected(GenerationError):
    """The uploaded file is not an image we accept (format, size, corruption)."""

    code = "image_rejected"


class AudioRejected(GenerationError):
    """The file is not an audio track we accept (format, codec, length, size, corruption)."""

    code = "audio_rejected"


class SegmentationFailed(GenerationError):
    """No trustworthy product matte could be made from this photo."""

    code = "segmentation_failed"


class ModelUnavailable(GenerationError):
    """Model weights or an optional dependency are not present on this machine."""

    code = "model_unavailable"


class InvalidSpec(GenerationError):
    """A generation spec has values outside what the library supports."""

    code = "invalid_spec"
