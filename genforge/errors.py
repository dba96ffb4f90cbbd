"""Errors a user can cause. The CLI turns them into one line on stderr and exit code 2."""


class GenforgeError(Exception):
    """A problem with the user's input (a path, a file's content, an option), not a bug."""
