"""The errors a user can cause: their text is already a sentence for that user.

`cli.main` prints a `UserError` as one line, as it is; any other exception gets its
type name and a pointer to `--log-level debug`, since its text was written for us.
"""

from __future__ import annotations


class UserError(Exception):
    """A mistake in what the user asked for, or a thing missing on their machine."""


class DeviceNotFound(UserError):
    """A named device does not exist; the message names the ones that do."""
