"""A delegation is complete when it has a politician, a manager and a strategist (SKR's model)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from service.domain.kinds import ParticipantRole

REQUIRED_ROLES = (ParticipantRole.POLITIKER, ParticipantRole.CHEF, ParticipantRole.STRATEG)


@dataclass(frozen=True)
class DelegationStatus:
    """Whether the delegation has a politician, a manager and a strategist."""

    roles: tuple[ParticipantRole, ...]
    missing_roles: tuple[ParticipantRole, ...]

    @property
    def complete(self) -> bool:
        """No required role is missing."""
        return not self.missing_roles


def delegation_status(roles: Iterable[ParticipantRole]) -> DelegationStatus:
    """The required roles a delegation lacks, in the order SKR names them."""
    present = tuple(dict.fromkeys(roles))
    return DelegationStatus(
        roles=present, missing_roles=tuple(r for r in REQUIRED_ROLES if r not in present)
    )
