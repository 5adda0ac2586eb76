"""The hub's one X12 reader and writer: tokenizer, envelope walk with its errors, and the writer.

Reading. Delimiters come from the ISA itself: the element separator is its 4th character and the
ISA is split on it, never cut at fixed offsets (real ISAs are 105, 107 or any length once NBSP
padding sneaks in). The character after ISA16 ends segments; a missing ISA16 is detected when the
GS line ends with the would-be ISA16. Line breaks always end a segment too, so pretty-printed files
and a segment that lost its terminator still split where a person sees them split. A segment that
ends in another common terminator ('~') than the one the ISA declares, right before a line break, is
noted as a mixed terminator: the file is ambiguous, and a 997 rejects that set.

The envelope walk (`read_envelope`) groups segments into functional groups and transaction sets
and records every count or control number that is off, both as words (`notes`, for reports and the
846 feed's row errors) and as X12 997 codes on the set or group they concern (AK5/AK9 and AK3/AK4).

Writing. `write_interchange` builds ISA (fixed width, as receivers expect), GS, ST..SE, GE, IEA
with counts and control numbers; `clean` turns any text into an element value that cannot break
the envelope (X12 has no escape character: separators and line breaks become spaces).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from network.errors import InvalidFeed

PAD = " \t\r\n\x0b\x0c\xa0\ufeff"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Terminators a translator may use in place of the declared one (see the mixed-terminator note).
_STRAY_TERMINATORS = "~'"

# AK5/IK5 set errors (X12 element 718) and AK9 group errors (element 716).
SET_TRAILER_MISSING = "2"
SET_CONTROL_MISMATCH = "3"
SET_COUNT_MISMATCH = "4"
SET_SEGMENTS_IN_ERROR = "5"
GROUP_TRAILER_MISSING = "2"
GROUP_CONTROL_MISMATCH = "4"
GROUP_COUNT_MISMATCH = "5"
# AK304 segment errors (element 720) and AK403 element errors (element 723).
SEGMENT_UNEXPECTED = "2"
SEGMENT_MANDATORY_MISSING = "3"
SEGMENT_HAS_ELEMENT_ERRORS = "8"
ELEMENT_MANDATORY_MISSING = "1"
ELEMENT_INVALID_CODE = "7"
ELEMENT_INVALID_DATE = "8"


class Segment(NamedTuple):
    """One segment: its ordinal in the file (ISA = 1), its id, and its elements (elements[0] is the id)."""

    number: int
    tag: str
    elements: list[str]

    def get(self, index: int) -> str:
        """Return element `index` (1-based, as X12 numbers them) trimmed, or "" when absent."""
        return self.elements[index].strip(PAD) if index < len(self.elements) else ""


@dataclass(frozen=True)
class Interchange:
    """An interchange split into segments, with the delimiters it declared."""

    element: str
    terminator: str  # "\n" when line breaks end segments
    component: str | None  # None when ISA16 is missing
    segments: list[Segment]
    # Segments whose piece ended with a stray terminator before a line break (mixed terminators).
    stray: dict[int, str] = field(default_factory=dict)


def read_interchange(text: str) -> Interchange:
    """Split X12 text into segments using the delimiters its ISA declares.

    Raises InvalidFeed when there is no readable ISA.
    """
    start = len(text) - len(text.lstrip(PAD))
    if text[start : start + 3] != "ISA" or len(text) < start + 4:
        raise InvalidFeed("not an X12 interchange: the file must start with an ISA segment")
    element = text[start + 3]
    if element.isalnum() or element in PAD:
        raise InvalidFeed(f"ISA declares {element!r} as element separator; it must be a symbol")
    at = start + 3
    for found in range(15):
        at = text.find(element, at + 1)
        if at < 0:
            raise InvalidFeed(f"the ISA segment is cut short: {found + 1} of 16 elements found")
    first, second = text[at + 1 : at + 2], text[at + 2 : at + 3]
    if not first:
        raise InvalidFeed("the ISA segment is cut short: ISA16 and the segment terminator are missing")
    if first in "\r\n":
        component, terminator = None, "\n"
    elif not second or second in "\r\n":
        following = text[at + 2 :].lstrip(PAD)
        stop = _LINE_BREAK.search(following)
        gs_line = (following[: stop.start()] if stop else following).rstrip(PAD)
        if following.startswith("GS") and gs_line.endswith(first):
            component, terminator = None, first  # ISA16 missing; the terminator sits right after ISA15
        else:
            component, terminator = first, "\n"
    elif second.isalnum():
        component, terminator = None, first
    else:
        component, terminator = first, second
    if terminator == element or component == element or (component is not None and component == terminator):
        raise InvalidFeed("the ISA declares the same character for two different delimiters")

    segments: list[Segment] = []
    stray: dict[int, str] = {}
    pieces = text[start:].split(terminator) if terminator != "\n" else [text[start:]]
    for piece in pieces:
        piece = piece.strip(PAD)
        # Most pieces are one segment; only a lost terminator leaves a line break inside.
        parts = _LINE_BREAK.split(piece) if "\n" in piece or "\r" in piece else [piece]
        for index, part in enumerate(parts):
            part = part.strip(PAD)
            if not part:
                continue
            if (
                terminator != "\n"
                and index < len(parts) - 1
                and part[-1] in _STRAY_TERMINATORS
                and part[-1] not in (terminator, element, component)
            ):
                stray[len(segments) + 1] = part[-1]
                part = part[:-1]
            elements = part.split(element)
            segments.append(Segment(len(segments) + 1, elements[0], elements))
    return Interchange(element, terminator, component, segments, stray)


@dataclass
class SegmentError:
    """An AK3 (segment) error with its AK4 (element) details: position in the set, code, words."""

    segment: Segment
    position: int  # the segment's position in its set, ST = 1
    code: str  # AK304
    element: int | None = None  # AK401
    element_code: str | None = None  # AK403
    text: str = ""


@dataclass
class TransactionSet:
    """A transaction set found inside the envelope, with the syntax errors found in it."""

    kind: str
    start: int
    segments: list[Segment]
    gs_date: str = ""
    gs_time: str = ""
    control: str = ""
    errors: list[str] = field(default_factory=list)  # AK5 codes
    segment_errors: list[SegmentError] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not self.errors and not self.segment_errors

    def position(self, seg: Segment) -> int:
        """Return a segment's position in this set (ST = 1)."""
        return seg.number - self.start + 1


@dataclass
class Group:
    """A functional group (GS..GE) and its sets."""

    gs: Segment | None
    sets: list[TransactionSet] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # AK9 codes

    @property
    def functional_id(self) -> str:
        return self.gs.get(1) if self.gs else ""

    @property
    def control(self) -> str:
        return self.gs.get(6) if self.gs else ""

    @property
    def version(self) -> str:
        return self.gs.get(8) if self.gs else ""


@dataclass
class Envelope:
    """An interchange read into groups and sets, with every envelope problem noted in words."""

    interchange: Interchange
    isa: Segment | None
    groups: list[Group]
    notes: list[str]

    @property
    def sets(self) -> list[TransactionSet]:
        return [s for g in self.groups for s in g.sets]

    @property
    def sender(self) -> tuple[str, str]:
        return (self.isa.get(5), self.isa.get(6)) if self.isa else ("", "")

    @property
    def receiver(self) -> tuple[str, str]:
        return (self.isa.get(7), self.isa.get(8)) if self.isa else ("", "")

    @property
    def control(self) -> str:
        return self.isa.get(13) if self.isa else ""


def read_envelope(interchange: Interchange) -> Envelope:
    """Group an interchange's segments into groups and sets, noting every count or control that is off."""
    notes: list[str] = []
    groups: list[Group] = []
    isa: Segment | None = None
    first_isa: Segment | None = None
    group: Group | None = None
    current: TransactionSet | None = None
    groups_in_isa = 0

    def loose_group() -> Group:
        nonlocal group
        if group is None:
            group = Group(None)
            groups.append(group)
        return group

    for seg in interchange.segments:
        tag = seg.tag
        if seg.number in interchange.stray and current is not None:
            text = (
                f"segment {seg.number} ends with {interchange.stray[seg.number]!r} but the ISA declares "
                f"{_shown(interchange.terminator)} as the segment terminator"
            )
            notes.append(text)
            current.segment_errors.append(
                SegmentError(seg, current.position(seg) if seg.number >= current.start else 0, "8", text=text)
            )
        if tag == "ISA":
            if isa is not None:
                notes.append(f"segment {seg.number}: ISA before the previous interchange's IEA")
            isa, groups_in_isa = seg, 0
            first_isa = first_isa or seg
        elif tag == "GS":
            if group is not None and group.gs is not None:
                notes.append(f"segment {seg.number}: GS before the previous group's GE")
                group.errors.append(GROUP_TRAILER_MISSING)
            group = Group(seg)
            groups.append(group)
        elif tag == "ST":
            if current is not None:
                notes.append(f"segment {current.start}: ST has no SE")
                current.errors.append(SET_TRAILER_MISSING)
            gs = group.gs if group else None
            current = TransactionSet(
                seg.get(1), seg.number, [seg], gs.get(4) if gs else "", gs.get(5) if gs else "", seg.get(2)
            )
            loose_group().sets.append(current)
        elif tag == "SE":
            if current is None:
                notes.append(f"segment {seg.number}: SE without an ST")
                continue
            current.segments.append(seg)
            if not _check(notes, seg, 1, str(len(current.segments)), "segments counted from ST to SE"):
                current.errors.append(SET_COUNT_MISMATCH)
            if not _check(notes, seg, 2, current.control, "ST02", numeric=False):
                current.errors.append(SET_CONTROL_MISMATCH)
            current = None
        elif tag == "GE":
            counted = len(group.sets) if group else 0
            if not _check(notes, seg, 1, str(counted), "transaction sets in the group") and group:
                group.errors.append(GROUP_COUNT_MISMATCH)
            if not _check(notes, seg, 2, group.control if group else "", "GS06", numeric=False) and group:
                group.errors.append(GROUP_CONTROL_MISMATCH)
            group, groups_in_isa = None, groups_in_isa + 1
        elif tag == "IEA":
            _check(notes, seg, 1, str(groups_in_isa), "groups in the interchange")
            _check(notes, seg, 2, isa.get(13) if isa else "", "ISA13", numeric=False)
            isa = None
        elif current is not None:
            current.segments.append(seg)
        else:
            notes.append(f"segment {seg.number}: {tag[:10]!r} outside any transaction set")
    if current is not None:
        notes.append(f"segment {current.start}: ST has no SE")
        current.errors.append(SET_TRAILER_MISSING)
    if group is not None and group.gs is not None:
        notes.append(f"segment {group.gs.number}: GS has no GE")
        group.errors.append(GROUP_TRAILER_MISSING)
    if isa is not None:
        notes.append(f"segment {isa.number}: ISA has no IEA")
    return Envelope(interchange, first_isa, groups, notes)


def walk_envelope(segments: list[Segment], notes: list[str]) -> list[TransactionSet]:
    """Group segments into transaction sets, noting every count or control number that is off."""
    envelope = read_envelope(Interchange("*", "~", None, segments))
    notes.extend(envelope.notes)
    return envelope.sets


def _shown(terminator: str) -> str:
    return "a line break" if terminator == "\n" else repr(terminator)


def _check(
    notes: list[str], seg: Segment, index: int, expected: str, what: str, *, numeric: bool = True
) -> bool:
    """Note a trailer element that disagrees with what the file actually holds; return whether it agrees."""
    actual = seg.get(index)
    if numeric:
        same = actual.isascii() and actual.isdigit() and len(actual) < 19 and int(actual) == int(expected)
    else:
        same = actual == expected
    if not same:
        shown = actual[:20] or "(empty)"
        notes.append(
            f"segment {seg.number}: {seg.tag}{index:02d} is {shown!r} but {what} is {expected[:20]!r}"
        )
    return same


# --- values ------------------------------------------------------------------------------------


def parse_date(text: str) -> datetime.date | None:
    """Parse an X12 date (CCYYMMDD, or YYMMDD in old versions)."""
    if not (text.isascii() and text.isdigit()) or len(text) not in (6, 8):
        return None
    if len(text) == 6:
        text = ("20" if int(text[:2]) < 50 else "19") + text
    try:
        return datetime.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def parse_time(text: str) -> datetime.time | None:
    """Parse an X12 time (HHMM, HHMMSS, HHMMSSD or HHMMSSDD)."""
    if not (text.isascii() and text.isdigit()) or len(text) not in (4, 6, 7, 8):
        return None
    fraction = text[6:]
    micro = int(fraction) * 10 ** (6 - len(fraction)) if fraction else 0
    try:
        return datetime.time(int(text[:2]), int(text[2:4]), int(text[4:6] or 0), micro)
    except ValueError:
        return None


# --- writing -----------------------------------------------------------------------------------

VERSIONS = {"004010": "00401", "004010VICS": "00401", "005010": "00501"}


@dataclass(frozen=True)
class Separators:
    """What the hub writes with: element, component (ISA16), segment terminator, repetition (5010)."""

    element: str = "*"
    component: str = ">"
    terminator: str = "~"
    repetition: str = "^"

    def check(self) -> str | None:
        """Return why these separators cannot be written, or None."""
        chosen = [self.element, self.component, self.terminator, self.repetition]
        if any(len(c) != 1 or c.isalnum() or c in " \r\n\t" for c in chosen):
            return "separators must be single symbols (not letters, digits, spaces or line breaks)"
        if len(set(chosen)) != 4:
            return "the four separators must differ"
        return None


_UNSAFE = re.compile(r"[\x00-\x1f\x7f\xa0\ufeff]")


def clean(value: object, seps: Separators, *, limit: int | None = None) -> str:
    """Turn a value into an element that cannot break the envelope (no separators, one line)."""
    text = _UNSAFE.sub(" ", str(value))
    for char in (seps.element, seps.component, seps.terminator, seps.repetition):
        text = text.replace(char, " ")
    text = " ".join(text.split())
    return text[:limit].rstrip() if limit else text


@dataclass(frozen=True)
class Party:
    """An ISA sender or receiver: qualifier and id (GS uses the id, unpadded)."""

    qualifier: str
    id: str


def write_interchange(
    *,
    sender: Party,
    receiver: Party,
    functional_id: str,
    version: str,
    interchange_control: int,
    group_control: int,
    sets: Sequence[tuple[str, int, Sequence[Sequence[str]]]],
    at: datetime.datetime,
    seps: Separators = Separators(),
    test: bool = False,
    ack_requested: bool = False,
) -> str:
    """Write one interchange with one functional group holding `sets` ((kind, control, body segments)).

    Body segments are lists of elements with the segment id first; ST and SE are added. Trailing
    empty elements are dropped, as X12 wants.
    """
    e, t = seps.element, seps.terminator
    isa_version = VERSIONS.get(version, "00401")
    isa11 = seps.repetition if isa_version >= "00402" else "U"
    isa = [
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        sender.qualifier.ljust(2)[:2],
        sender.id.ljust(15)[:15],
        receiver.qualifier.ljust(2)[:2],
        receiver.id.ljust(15)[:15],
        at.strftime("%y%m%d"),
        at.strftime("%H%M"),
        isa11,
        isa_version,
        f"{interchange_control:09d}",
        "1" if ack_requested else "0",
        "T" if test else "P",
        seps.component,
    ]
    lines = [e.join(isa)]
    gs = [
        "GS",
        functional_id,
        sender.id.strip(),
        receiver.id.strip(),
        at.strftime("%Y%m%d"),
        at.strftime("%H%M"),
    ]
    lines.append(e.join([*gs, str(group_control), "X", version]))
    for kind, control, body in sets:
        st_control = f"{control:04d}"
        segments = [["ST", kind, st_control], *body]
        for segment in segments:
            lines.append(_segment(segment, e))
        lines.append(e.join(["SE", str(len(segments) + 1), st_control]))
    lines.append(e.join(["GE", str(len(sets)), str(group_control)]))
    lines.append(e.join(["IEA", "1", f"{interchange_control:09d}"]))
    return (t + "\n").join(lines) + t + "\n"


def _segment(elements: Sequence[str], e: str) -> str:
    values = list(elements)
    while len(values) > 1 and values[-1] == "":
        values.pop()
    return e.join(values)
