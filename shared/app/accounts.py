"""The configured groups, with each account's accountId and location resolved from ARM when the
configuration leaves them out: per account, on demand, and without letting one account that
ARM cannot resolve hold up any group but its own."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace

from shared.app.errors import ArmUnavailableError, GroupRequiredError, UnknownGroupError
from shared.app.ports import AccountLookup
from shared.core.model import Account, Config, Group

log = logging.getLogger(__name__)

RETRY_SECONDS = 30.0  # a failed resolution is tried again after this long, not on every call


class AccountDirectory:
    """Looks groups up by name and resolves their accounts, caching what ARM answered."""

    def __init__(
        self,
        config: Config,
        arm: AccountLookup | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self.config = config
        self._arm = arm
        self._clock = clock
        self._retry = retry_seconds
        self._lock = threading.Lock()
        self._resolved: dict[str, Account] = {}  # by resource id, lower-cased
        self._failed: dict[str, tuple[float, ArmUnavailableError]] = {}

    def group(self, name: str | None) -> Group:
        """The named group; with one group configured the name may be omitted."""
        if not name:
            if len(self.config.groups) == 1:
                return self.config.groups[0]
            raise GroupRequiredError("group: required, because more than one group is configured")
        group = self.config.group(name)
        if group is None:
            raise UnknownGroupError(f"group {name!r} is not configured")
        return group

    def resolved(self, group: Group, name: str | None = None) -> Group:
        """The group with its accounts' accountId and location known: every account, or only
        the account `name` (what a read of the active account shows, so ARM is not asked
        about the others). ArmUnavailableError names an account ARM could not tell about."""
        missing = [
            a
            for a in group.accounts
            if (name is None or a.name == name) and not (a.account_id and a.location)
        ]
        if not missing:
            return group
        return replace(
            group, accounts=tuple(self._account(a) if a in missing else a for a in group.accounts)
        )

    def _account(self, account: Account) -> Account:
        if account.account_id and account.location:
            return account
        key = account.resource_id.lower()
        with self._lock:
            if key in self._resolved:
                return self._resolved[key]
            failed = self._failed.get(key)
            if failed is not None and self._clock() - failed[0] < self._retry:
                raise failed[1]
            try:
                found = self._lookup(account)
            except ArmUnavailableError as exc:
                error = ArmUnavailableError(
                    f"account {account.name}: accountId/location are not configured and ARM "
                    f"could not tell them: {exc}"
                )
                self._failed[key] = (self._clock(), error)
                log.warning("%s", error)
                raise error from exc
            self._failed.pop(key, None)
            self._resolved[key] = found
            return found

    def _lookup(self, account: Account) -> Account:
        if self._arm is None:
            raise ArmUnavailableError("no ARM client is configured")
        found = self._arm.get_account(account.resource_id)
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
