"""Client of vi-failover: read the active Video Indexer account before every indexing call."""

from vi_failover_client.account import (
    ActiveAccount,
    ActiveAccountError,
    ActiveAccountUnavailableError,
    UnknownGroupError,
)
from vi_failover_client.client import ActiveAccountClient
from vi_failover_client.table import TableSource
from vi_failover_client.vi import AccessTokenError, access_token, data_plane_url

__all__ = [
    "AccessTokenError",
    "ActiveAccount",
    "ActiveAccountClient",
    "ActiveAccountError",
    "ActiveAccountUnavailableError",
    "TableSource",
    "UnknownGroupError",
    "access_token",
    "data_plane_url",
]
