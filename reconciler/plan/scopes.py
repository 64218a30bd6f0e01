"""Which owner accounts one run covers: all, the ones named with --account, or one shard.

Owner accounts are independent, so a run splits by account. A shard is picked by a hash of
the account id, so an account's shard depends only on the id and the shard count: every
account, including one only a removed declaration or discovery names, is in exactly one
shard, and adding an account never moves the others.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_SHARD = re.compile(r"^(\d{1,3})/(\d{1,3})\Z")
_SHARD_TEXT = re.compile(r"^shard (\d+)/(\d+)\Z")
_ACCOUNTS_TEXT = re.compile(r"^accounts ([0-9]{12}(?:,[0-9]{12})*)\Z")
MAX_SHARDS = 256
"""GitHub Actions runs at most 256 jobs per matrix."""


def shard_of(account: str, count: int) -> int:
    return int.from_bytes(hashlib.sha256(account.encode()).digest()[:8], "big") % count


def parse_shard(text: str) -> tuple[int, int]:
    """`I/N` (0 <= I < N <= 256), or ValueError saying what to write."""
    match = _SHARD.match(text)
    if match is None or not 0 < int(match[2]) <= MAX_SHARDS or int(match[1]) >= int(match[2]):
        raise ValueError(
            f"--shard {text!r} must be INDEX/COUNT with 0 <= INDEX < COUNT <= {MAX_SHARDS}, e.g. 0/4"
        )
    return int(match[1]), int(match[2])


@dataclass(frozen=True)
class AccountScope:
    """The owner accounts a plan covers: `accounts` (None: any), of shard (index, count)
    (None: any); both None is every account."""

    accounts: frozenset[str] | None = None
    shard: tuple[int, int] | None = None

    @classmethod
    def from_text(cls, text: str | None) -> AccountScope:
        """The scope a plan file records (describe's text; None: every account), or ValueError."""
        if text is None:
            return cls()
        accounts, shard = None, None
        for part in text.split("; "):
            if shard is None and (by_shard := _SHARD_TEXT.match(part)):
                shard = (int(by_shard[1]), int(by_shard[2]))
            elif accounts is None and (by_accounts := _ACCOUNTS_TEXT.match(part)):
                accounts = frozenset(by_accounts[1].split(","))
            else:
                raise ValueError(f"scope {text!r} must be `shard I/N`, `accounts ID,...` or both")
        return cls(accounts, shard)

    @property
    def everything(self) -> bool:
        return self.accounts is None and self.shard is None

    def includes(self, account: str) -> bool:
        if self.accounts is not None and account not in self.accounts:
            return False
        return self.shard is None or shard_of(account, self.shard[1]) == self.shard[0]

    def describe(self) -> str | None:
        """How a plan file records its scope; None for a plan of every account."""
        parts = []
        if self.shard is not None:
            parts.append(f"shard {self.shard[0]}/{self.shard[1]}")
        if self.accounts is not None:
            parts.append("accounts " + ",".join(sorted(self.accounts)))
        return "; ".join(parts) or None


EVERY_ACCOUNT = AccountScope()
