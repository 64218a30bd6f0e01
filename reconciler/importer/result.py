"""What import returns: the grants it proposes, and the statements it leaves or cannot adopt."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.declare.model import Grantee
from reconciler.importer.levels import Proposal
from reconciler.policy.access import Access


@dataclass(frozen=True)
class ImportedGrant:
    grantee: Grantee
    access: Access
    prefixes: tuple[str, ...]
    statements: tuple[str, ...]
    """Labels of the statements it was read from (for the declaration's reason)."""
    widening: tuple[str, ...] = ()
    """What the grant allows beyond those statements, one sentence each; empty when exact."""


@dataclass(frozen=True)
class Unmanaged:
    label: str
    """`Sid 'X'` or `statement 3 (no Sid)`."""
    reason: str


@dataclass(frozen=True)
class ImportResult:
    grants: tuple[ImportedGrant, ...]
    unmanaged: tuple[Unmanaged, ...]
    """Statements no grant expresses: kept exactly as they are by every plan."""
    adoptable: tuple[str, ...]
    """`adopt:` entries (Sid, or sha256: and content hash) of the statements the grants express
    in full, in policy order."""
    not_adoptable: tuple[Unmanaged, ...]
    """Statements the grants express in full that cannot be named alone (a repeated Sid or content)."""
    proposals: tuple[Proposal, ...] = ()
    """Access levels that would express statements exactly, for reconciler.yaml."""
