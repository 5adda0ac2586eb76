"""997 functional acknowledgement: written for every group the hub receives, read for what it sends.

Written: AK1 (group), per set AK2, AK3/AK4 for each segment and element in error, AK5 (A accepted,
E accepted with errors, R rejected, with its codes), AK9 for the group (A, E, P partially accepted,
R) with the counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from network.edi.x12 import Group, Separators, TransactionSet, clean

ACCEPTED = "A"
ACCEPTED_WITH_ERRORS = "E"
PARTIALLY_ACCEPTED = "P"
REJECTED = "R"


@dataclass
class SetOutcome:
    """What became of one received set: its syntax errors plus the hub's own (application) ones."""

    tset: TransactionSet
    rejected: bool  # nothing of it applied


def write_997(group: Group, outcomes: Sequence[SetOutcome], seps: Separators) -> list[list[str]]:
    """Return the 997 body acknowledging one received group."""
    body: list[list[str]] = [
        ["AK1", clean(group.functional_id, seps, limit=2), clean(group.control, seps, limit=9)]
    ]
    accepted = 0
    for outcome in outcomes:
        tset = outcome.tset
        body.append(["AK2", clean(tset.kind, seps, limit=3), clean(tset.control, seps, limit=9)])
        for error in tset.segment_errors[:50]:
            body.append(
                ["AK3", clean(error.segment.tag, seps, limit=3), str(max(error.position, 1)), "", error.code]
            )
            if error.element is not None:
                body.append(["AK4", str(error.element), "", error.element_code or "7"])
        codes = list(dict.fromkeys(tset.errors))[:5]
        if outcome.rejected:
            status = REJECTED
            if not codes:
                codes = ["5"]
        elif codes or tset.segment_errors:
            status = ACCEPTED_WITH_ERRORS
        else:
            status = ACCEPTED
        if status != REJECTED:
            accepted += 1
        body.append(["AK5", status, *codes])
    received = len(outcomes)
    if accepted == received and not group.errors:
        group_status = ACCEPTED if all(o.tset.accepted for o in outcomes) else ACCEPTED_WITH_ERRORS
    elif accepted == 0:
        group_status = REJECTED
    else:
        group_status = PARTIALLY_ACCEPTED
    body.append(
        [
            "AK9",
            group_status,
            str(received),
            str(received),
            str(accepted),
            *list(dict.fromkeys(group.errors))[:5],
        ]
    )
    return body


@dataclass
class Ack997:
    group_control: str
    functional_id: str
    group_status: str
    sets: dict[str, str] = field(default_factory=dict)  # ST02 -> AK501


def read_997(tset: TransactionSet) -> Ack997:
    """Read which group and sets a partner's 997 acknowledges, and how."""
    ack = Ack997("", "", "")
    current = ""
    for seg in tset.segments[1:]:
        if seg.tag == "AK1":
            ack.functional_id, ack.group_control = seg.get(1), seg.get(2)
        elif seg.tag == "AK2":
            current = seg.get(2)
        elif seg.tag == "AK5" and current:
            ack.sets[current] = seg.get(1).upper()
        elif seg.tag == "AK9":
            ack.group_status = seg.get(1).upper()
    return ack
