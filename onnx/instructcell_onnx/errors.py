"""The error types the command line turns into a message and a non-zero exit."""

from __future__ import annotations

from typing import Any


class ExportError(Exception):
    """A problem with the user's input or environment, reported without a traceback.

    The message must say what is wrong and, where possible, which file or key it concerns.
    """


class VerificationError(ExportError):
    """The exported graphs do not reproduce the PyTorch model within the stated tolerances."""

    def __init__(self, message: str, result: dict[str, Any] | None = None):
        super().__init__(message)
        #: The full verification report, when verification got far enough to produce one.
        self.result = result
