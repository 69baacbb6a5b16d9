"""The one exception type the CLI reports as a single line instead of a traceback."""


class DgmError(Exception):
    """A failure the user can act on; the message says what was wrong and what to do."""
