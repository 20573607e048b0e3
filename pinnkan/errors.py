"""User-facing errors.

Every mistake a user can make (a broken problem file, a bad option, a boundary selection that
matches nothing, a non-finite value) raises a :class:`PinnkanError` whose message is one
paragraph that says what is wrong, where, and what to do about it. The command line prints that
paragraph without a traceback and exits with status 2.
"""

from __future__ import annotations


class PinnkanError(ValueError):
    """An error caused by the user's input, with a message meant to be read by that user."""


class ProblemError(PinnkanError):
    """The problem definition (file, equations, conditions, domain) is invalid."""


class OptionError(PinnkanError):
    """A solver or command-line option is invalid."""
