"""The stand-in's accounts, the behaviour each is switched to, and the VI tokens it issued."""

from __future__ import annotations

import base64
import json
import logging
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from shared.core.model import Account

BEHAVIOURS = {
    "healthy": "ARM, the token endpoint and the VI API all answer",
    "unhealthy": "the VI API answers 503",
    "slow": "the VI API answers after a delay",
    "throttled": "the VI API answers 429 with Retry-After, every time",
    "throttled-once": "the VI API answers 429 with Retry-After to every other call",
    "unauthorized": "the VI API answers 401",
    "forbidden": "the VI API answers 403",
    "token-down": "generateAccessToken answers 503",
    "token-forbidden": "generateAccessToken answers 403",
    "provisioning-failed": "ARM reports provisioningState Failed",
    "missing": "ARM and the VI API answer 404: the account does not exist",
    "malformed": "the VI API answers 200 with a body that is not JSON",
    "hang": "the VI API holds the request without answering",
}


class UnknownAccountError(LookupError):
    """No account of that name is configured in the stand-in."""


class UnknownBehaviourError(ValueError):
    """The behaviour is not one of BEHAVIOURS; the message lists the allowed ones."""


@dataclass
class AccountState:
    """One account and how the stand-in answers for it now."""

    account: Account
    behaviour: str = "healthy"
    vi_calls: int = 0  # since the behaviour was set: paces throttled-once
    videos: dict[str, dict[str, object]] = field(default_factory=dict)  # id -> uploaded video


@dataclass(frozen=True)
class ViCall:
    """What a VI call needs to know, read at once: who the token was for, the count, the mood."""

    token_for: str | None  # the account the bearer token was issued for; None: not ours
    calls: int  # VI calls since the behaviour was set, this one included
    behaviour: str
    permission: str = "Reader"  # what the token allows: Reader or Contributor


class Accounts:
    """Every account once, found by ARM resource id or VI's (location, id); safe across threads.

    Behaviour changes are logged to `log`.
    """

    def __init__(self, accounts: Sequence[Account], log: logging.Logger) -> None:
        self._log = log
        self._lock = threading.Lock()
        self._states: dict[str, AccountState] = {}
        for account in accounts:
            known = self._states.get(account.name)
            if known is not None and known.account != account:
                raise ValueError(f"two different accounts are both called {account.name!r}")
            self._states[account.name] = AccountState(account)
        # Indexes: a linear scan per request costs 0.6 ms at 20,000 accounts.
        states = self._states.values()
        self._by_resource_id = {s.account.resource_id.lower(): s for s in states}
        self._by_data_plane_id = {
            (s.account.location, s.account.account_id.lower()): s for s in states
        }
        self._tokens: dict[str, tuple[str, str, float]] = {}  # token -> (name, permission, exp)

    @property
    def accounts(self) -> tuple[Account, ...]:
        """The accounts, each once."""
        return tuple(s.account for s in self._states.values())

    @property
    def issued_tokens(self) -> list[str]:
        """Every VI access token handed out."""
        with self._lock:
            return list(self._tokens)

    def by_resource_id(self, resource_id: str) -> AccountState | None:
        """The account with this ARM resource id (case-insensitive, as ARM ids are)."""
        return self._by_resource_id.get(resource_id.lower())

    def by_data_plane_id(self, location: str, account_id: str) -> AccountState | None:
        """The account VI knows by this location and account id."""
        return self._by_data_plane_id.get((location.lower(), account_id.lower()))

    def behaviours(self) -> dict[str, str]:
        """Account name → its current behaviour."""
        with self._lock:
            return {name: s.behaviour for name, s in self._states.items()}

    def listing(self) -> dict[str, object]:
        """Every account with its behaviour, and every behaviour with what it does."""
        with self._lock:
            accounts = [
                {"name": s.account.name, "behaviour": s.behaviour, "location": s.account.location}
                | {"accountId": s.account.account_id, "resourceId": s.account.resource_id}
                for s in self._states.values()
            ]
        return {"accounts": accounts, "behaviours": BEHAVIOURS}

    def set_behaviour(self, name: str, behaviour: str) -> None:
        """Switch one account's behaviour; raises UnknownAccountError or UnknownBehaviourError."""
        if behaviour not in BEHAVIOURS:
            raise UnknownBehaviourError(
                f"unknown behaviour {behaviour!r}; use one of: {', '.join(BEHAVIOURS)}"
            )
        with self._lock:
            state = self._states.get(name)
            if state is None:
                known = ", ".join(self._states)
                raise UnknownAccountError(f"no account {name!r}; known: {known}")
            state.behaviour, state.vi_calls = behaviour, 0
        self._log.info("stand-in: %s is now %s (%s)", name, behaviour, BEHAVIOURS[behaviour])

    def issue_token(
        self, state: AccountState, permission: str = "Contributor", lifetime: float = 3600.0
    ) -> str:
        """A new VI access token for the account, shaped like VI's: a JWT whose payload holds
        the account, the permission and `exp` (signed with a key nobody checks)."""
        expires = time.time() + lifetime
        claims = {
            "AccountId": state.account.account_id,
            "Permission": permission,
            "exp": int(expires),
            "iss": "https://api.videoindexer.ai/",
        }
        token = ".".join(
            [_b64({"alg": "HS256", "typ": "JWT"}), _b64(claims), secrets.token_urlsafe(32)]
        )
        with self._lock:
            self._tokens[token] = (state.account.name, permission, expires)
        return token

    def vi_call(self, state: AccountState, bearer: str) -> ViCall:
        """Count one VI call to the account and read what answering it needs."""
        with self._lock:
            state.vi_calls += 1
            name, permission, expires = self._tokens.get(bearer, (None, "Reader", 0.0))
            valid = name if time.time() < expires else None
            return ViCall(valid, state.vi_calls, state.behaviour, permission)

    def store_video(self, state: AccountState, video: dict[str, object]) -> None:
        """Keep an uploaded video in the account that took it."""
        with self._lock:
            state.videos[str(video["id"])] = video

    def video(self, state: AccountState, video_id: str) -> dict[str, object] | None:
        """The video with this id, if this account holds it."""
        with self._lock:
            return state.videos.get(video_id)


def _b64(value: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
