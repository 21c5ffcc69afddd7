"""Which parts of a request a tool call or a plan accounts for, and the note that names the rest."""

from __future__ import annotations

NOT_DONE = "I didn't"


def says_not_done(answer: str) -> bool:
    """Whether an answer carries the note naming a part of the request that was not acted on."""
    return NOT_DONE.lower() in answer.lower()
