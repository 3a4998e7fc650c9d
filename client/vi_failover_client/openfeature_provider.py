"""An OpenFeature provider that serves the active account as a flag (`openfeature` extra).

    pip install "vi-failover-client[openfeature]"

    from openfeature import api
    from vi_failover_client.openfeature_provider import ActiveAccountProvider

    api.set_provider_and_wait(ActiveAccountProvider.from_env())
    name = api.get_client().get_string_value("active-account", "contoso-eastus")

The flag `active-account` is the active account's name as a string, or as an object its
AccountRef plus version, role and stale. The evaluation context's `group` attribute (or its
targeting key) picks the group when the provider serves several. A resolution never waits on the
network: before the first value it answers the default with PROVIDER_NOT_READY.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Self, TypeVar

try:
    from openfeature.evaluation_context import EvaluationContext
    from openfeature.event import ProviderEventDetails
    from openfeature.exception import ErrorCode, ProviderFatalError, ProviderNotReadyError
    from openfeature.flag_evaluation import FlagResolutionDetails, FlagValueType, Reason
    from openfeature.provider import AbstractProvider, Metadata
except ImportError as missing:  # without the openfeature extra
    extra = 'pip install "vi-failover-client[openfeature]"'
    raise ImportError(f"the OpenFeature provider needs openfeature-sdk: {extra}") from missing

from vi_failover_client.account import (
    ActiveAccount,
    ActiveAccountUnavailableError,
    ConfigurationError,
)
from vi_failover_client.client import ActiveAccountClient
from vi_failover_client.refresh import Problem

FLAG = "active-account"
T = TypeVar("T")


class ActiveAccountProvider(AbstractProvider):
    """OpenFeature's view of one or more groups' active accounts: one client per group."""

    def __init__(self, groups: Sequence[str | None] = (None,), **options: Any) -> None:
        """`options` are ActiveAccountClient's keyword arguments, shared by every group."""
        super().__init__()
        if not groups:
            raise ValueError("groups: name at least one group (None: the endpoint's only one)")
        self._clients = {
            group: ActiveAccountClient(
                group=group, on_change=self._changed, on_problem=self._problem, **options
            )
            for group in groups
        }

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, groups: Sequence[str] = (), **options: Any
    ) -> Self:
        """A provider from the VI_FAILOVER_* variables; VI_FAILOVER_GROUP unless `groups`."""
        from vi_failover_client.settings import Settings  # noqa: PLC0415 - as the clients

        arguments = {**Settings.from_env(environ).client_arguments(), **options}
        named = list(groups) or [arguments.pop("group", None)]
        arguments.pop("group", None)
        return cls(named, **arguments)

    def get_metadata(self) -> Metadata:
        """The provider's name."""
        return Metadata(name="vi-failover active account")

    def initialize(self, evaluation_context: EvaluationContext) -> None:
        """Wait for every group's first value; a refused configuration is fatal."""
        for client in self._clients.values():
            try:
                client.get()  # waits up to the client's `ready_timeout` for the first value
            except ConfigurationError as exc:
                raise ProviderFatalError(str(exc)) from exc
            except ActiveAccountUnavailableError as exc:
                raise ProviderNotReadyError(str(exc)) from exc

    def shutdown(self) -> None:
        """Stop every client."""
        for client in self._clients.values():
            client.close()

    def resolve_string_details(
        self, flag_key: str, default_value: str, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[str]:
        """The active account's name."""
        return self._resolve(flag_key, default_value, evaluation_context, lambda a: a.name)

    def resolve_object_details(
        self,
        flag_key: str,
        default_value: Sequence[FlagValueType] | Mapping[str, FlagValueType],
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[Sequence[FlagValueType] | Mapping[str, FlagValueType]]:
        """The active account's AccountRef fields, version, role and stale."""

        def whole(account: ActiveAccount) -> Mapping[str, FlagValueType]:
            return {
                "name": account.name,
                "accountId": account.account_id,
                "location": account.location,
                "resourceId": account.resource_id,
                "version": account.version,
                "role": account.role,
                "stale": account.stale,
            }

        return self._resolve(flag_key, default_value, evaluation_context, whole)

    def resolve_boolean_details(
        self,
        flag_key: str,
        default_value: bool,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[bool]:
        """Not a boolean flag."""
        return _mismatch(default_value)

    def resolve_integer_details(
        self, flag_key: str, default_value: int, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[int]:
        """Not an integer flag."""
        return _mismatch(default_value)

    def resolve_float_details(
        self,
        flag_key: str,
        default_value: float,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[float]:
        """Not a float flag."""
        return _mismatch(default_value)

    def _resolve(
        self,
        flag_key: str,
        default: T,
        context: EvaluationContext | None,
        shape: Any,
    ) -> FlagResolutionDetails[T]:
        if flag_key != FLAG:
            return _error(default, ErrorCode.FLAG_NOT_FOUND, f"only {FLAG!r} is served")
        group = _group_of(context, self._clients)
        client = self._clients.get(group)
        if client is None:
            return _error(default, ErrorCode.INVALID_CONTEXT, f"group {group!r} is not served")
        if not client.ready:  # never wait on the network inside a resolution
            return _error(default, ErrorCode.PROVIDER_NOT_READY, "no value read yet")
        account = client.get()
        return FlagResolutionDetails(
            value=shape(account),
            reason=Reason.STALE if account.stale else Reason.CACHED,
            variant=account.name,
            flag_metadata={
                "version": account.version,
                "role": account.role,
                "source": account.source,
                "stale": account.stale,
                "pinned": account.pinned,
                "groupUnknown": account.group_unknown,
            },
        )

    def _changed(self, new: ActiveAccount, old: ActiveAccount | None) -> None:
        if old is not None:
            details = ProviderEventDetails(flags_changed=[FLAG], message=f"now {new.name}")
            self.emit_provider_configuration_changed(details)

    def _problem(self, problem: Problem) -> None:
        details = ProviderEventDetails(message=str(problem), error_code=ErrorCode.GENERAL)
        if problem.kind == "unavailable":
            self.emit_provider_stale(details)
        else:
            self.emit_provider_error(details)


def _group_of(context: EvaluationContext | None, clients: Mapping[str | None, Any]) -> str | None:
    if context is not None:
        group = context.attributes.get("group") or context.targeting_key
        if isinstance(group, str) and group:
            return group
    return next(iter(clients)) if len(clients) == 1 else None


def _error(default: T, code: ErrorCode, message: str) -> FlagResolutionDetails[T]:
    return FlagResolutionDetails(
        value=default, error_code=code, error_message=message, reason=Reason.ERROR
    )


def _mismatch(default: T) -> FlagResolutionDetails[T]:
    return _error(default, ErrorCode.TYPE_MISMATCH, f"{FLAG!r} is a string or an object flag")
