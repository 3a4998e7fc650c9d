"""Fill in accounts that the configuration names by `resourceId` alone, from ARM."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Protocol

from shared.arm import ArmAccount, ArmError
from shared.errors import UnavailableError
from shared.model import Account, Config

log = logging.getLogger(__name__)


class AccountLookup(Protocol):
    """Reads a Video Indexer account from ARM."""

    def get_account(self, resource_id: str) -> ArmAccount:
        """The account's ARM view."""
        ...


class ResolutionError(UnavailableError):
    """An account's accountId or location could not be read from ARM; retry later."""


def resolve_accounts(config: Config, arm: AccountLookup) -> Config:
    """The configuration with every account's accountId and location known.

    Accounts that give both are left alone and cost no ARM call.
    """
    groups = []
    for group in config.groups:
        accounts = tuple(_resolved(account, arm) for account in group.accounts)
        groups.append(replace(group, accounts=accounts))
    return Config(groups=tuple(groups))


def _resolved(account: Account, arm: AccountLookup) -> Account:
    if account.account_id and account.location:
        return account
    try:
        found = arm.get_account(account.resource_id)
    except ArmError as exc:
        raise ResolutionError(
            f"account {account.name}: accountId/location not configured and ARM did not "
            f"answer: {exc}"
        ) from exc
    log.info(
        "account %s resolved from ARM: accountId %s, location %s",
        account.name,
        found.account_id,
        found.location,
    )
    return replace(
        account,
        account_id=account.account_id or found.account_id,
        location=account.location or found.location,
    )
