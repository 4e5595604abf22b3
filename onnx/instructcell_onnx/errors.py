"""The one error type the command line turns into a message and a non-zero exit."""


class ExportError(Exception):
    """A problem with the user's input or environment, reported without a traceback.

    The message must say what is wrong and, where possible, which file or key it concerns.
    """


class VerificationError(ExportError):
    """The exported graphs do not reproduce the PyTorch model within the stated tolerances."""
