"""What each role may do (DESIGN §13), on both sides: checked on the server for every action.

- owner, admin: the organization's settings, API clients, webhook endpoints, the team.
- operator: the day-to-day (orders, flags, stock, purchase orders).
- viewer: reads only.
"""

from __future__ import annotations

from network.errors import Forbidden
from network.partners.models import ADMIN, OPERATOR, OWNER, ROLES, VIEWER

MANAGE = "manage"  # API clients, endpoints, terms, the team
OPERATE = "operate"  # orders, flags, stock, purchase orders

ALLOWED = {MANAGE: {OWNER, ADMIN}, OPERATE: {OWNER, ADMIN, OPERATOR}}
LABELS = {
    OWNER: "Owner",
    ADMIN: "Admin",
    OPERATOR: "Operator",
    VIEWER: "Viewer",
}
WHAT = {MANAGE: "manage API clients, settings and the team", OPERATE: "change orders, stock or flags"}
# A colleague who joins by invite works day to day; an owner or admin can give more later.
INVITED_ROLE = OPERATOR


def may(role: str, action: str) -> bool:
    return role in ALLOWED[action]


def require(role: str, action: str) -> None:
    """Raises Forbidden when the role may not do the action."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    if not may(role, action):
        raise Forbidden(f"Your role ({LABELS[role]}) may not {WHAT[action]}. Ask an owner or an admin.")
