"""Who is making a request: an authenticated account with its role grants."""

from __future__ import annotations

from dataclasses import dataclass, field

from gongzhi.regions.codes import is_within
from gongzhi.security.permissions import ADMIN_ROLES, ROLE_PERMISSIONS, Permission, Role


@dataclass(frozen=True)
class Grant:
    role: Role
    region_code: str  # the grant covers this region's whole subtree


@dataclass(frozen=True)
class Principal:
    account_id: int
    username: str
    display_name: str
    kind: str  # "staff" | "citizen"
    grants: tuple[Grant, ...] = ()
    via: str = "session"  # "session" | "token"
    session_id: int | None = None
    mfa_passed: bool = False
    locale: str | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def audit_id(self) -> int | None:
        return self.account_id

    @property
    def audit_label(self) -> str:
        return f"{self.username} ({self.display_name})"

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(g.role for g in self.grants)

    @property
    def is_admin(self) -> bool:
        return bool(self.roles & ADMIN_ROLES)

    def can(self, permission: Permission, region_code: str | None = None) -> bool:
        """Deny by default; a region, when given, must lie in the grant's subtree."""
        return any(
            permission in ROLE_PERMISSIONS.get(g.role, frozenset())
            and (region_code is None or is_within(region_code, g.region_code))
            for g in self.grants
        )

    def regions_for(self, permission: Permission) -> list[str]:
        """Scopes (region codes) in which the principal holds the permission."""
        return sorted(
            {g.region_code for g in self.grants if permission in ROLE_PERMISSIONS.get(g.role, ())}
        )
