"""User-facing errors: one line that says what is wrong and what to do."""


class CompareError(Exception):
    """An error caused by input or environment, shown without a traceback."""
