"""What running a line gives back: the printed reply and what the page needs to know."""

from __future__ import annotations

from dataclasses import dataclass, field

from learn.sandbox.cli import format_reply
from learn.sandbox.resp import ErrorReply


@dataclass
class Outcome:
    reply: str
    error: bool = False
    note: str = ""
    in_transaction: bool = False
    changed: bool = False
    # Nothing ran: the address may start no new sandbox this hour, and this
    # learner's would have been one. The site keeps nothing for such a learner
    # (no transcript, no session), or each refusal would still store something.
    refused_new: bool = False
    # Key names the command may have created, for the learner's key index.
    written: list[bytes] = field(default_factory=list, repr=False)


@dataclass
class KeyRow:
    name: str
    type: str
    ttl: int


def error(message: str, *, in_transaction: bool = False) -> Outcome:
    """An error reply printed as redis-cli prints it: `(error) ERR ...`."""
    return Outcome(
        reply=format_reply(ErrorReply(message)), error=True, in_transaction=in_transaction
    )
