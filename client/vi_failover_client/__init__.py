"""Client of vi-failover: read the active Video Indexer account before every indexing call."""

from vi_failover_client.account import (
    ActiveAccount,
    ActiveAccountError,
    ActiveAccountUnavailableError,
    ConfigurationError,
    UnknownGroupError,
)
from vi_failover_client.client import ActiveAccountClient, UnknownAccountError
from vi_failover_client.credentials import MissingExtraError
from vi_failover_client.locations import VideoLocations
from vi_failover_client.refresh import ClientStatus, Problem, SourceState
from vi_failover_client.refs import AccountRef, InvalidAccountError
from vi_failover_client.settings import Secret, Settings
from vi_failover_client.table import TableSource
from vi_failover_client.urls import InsecureURLError
from vi_failover_client.vi import AccessTokenError, AccessTokens, access_token, data_plane_url

__all__ = [
    "AccessTokenError",
    "AccessTokens",
    "AccountRef",
    "ActiveAccount",
    "ActiveAccountClient",
    "ActiveAccountError",
    "ActiveAccountUnavailableError",
    "ClientStatus",
    "ConfigurationError",
    "InsecureURLError",
    "InvalidAccountError",
    "MissingExtraError",
    "Problem",
    "Secret",
    "Settings",
    "SourceState",
    "TableSource",
    "UnknownAccountError",
    "UnknownGroupError",
    "VideoLocations",
    "access_token",
    "data_plane_url",
]
