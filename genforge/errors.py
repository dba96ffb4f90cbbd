"""Errors a user can cause. The CLI turns them into one line on stderr and exit code 2."""


class GenforgeError(Exception):
    """A problem with the user's input (a path, a file's content, an option), not a bug."""


def brief(value, most: int = 300) -> str:
    """`value` as one short line, for a message that quotes another error or a file's content."""
    text = " ".join(str(value).split())
    return text if len(text) <= most else text[:most - 3] + "..."
