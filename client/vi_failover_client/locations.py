"""`VideoLocations`: which account holds each video, in a table of the app's own.

For apps without a database of their own to keep an `AccountRef` beside each video id. One
entity per video: PartitionKey `video`, RowKey the video id, the ref's four fields.
"""

from __future__ import annotations

import contextlib
import re
from typing import Self

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableClient, UpdateMode

from vi_failover_client.refs import AccountRef
from vi_failover_client.table import TableCredential, TableSource

PARTITION = "video"
# RowKeys may not hold / \ # ? or control characters; VI's video ids are letters and digits.
_VIDEO_ID = re.compile(r"^[A-Za-z0-9._-]{1,256}$")


class VideoLocations:
    """`remember(video_id, ref)` and `locate(video_id)`, over azure-data-tables."""

    def __init__(self, endpoint: str, credential: TableCredential, table_name: str) -> None:
        source = TableSource(primary_endpoint=endpoint, credential=credential)  # checks https
        self._client = TableClient(
            endpoint=source.primary_endpoint, table_name=table_name, credential=credential
        )
        self._created = False

    @classmethod
    def from_connection_string(cls, connection_string: str, table_name: str) -> Self:
        """From a storage connection string (key or SAS), as TableSource reads one."""
        source = TableSource.from_connection_string(connection_string, table_name=table_name)
        return cls(source.primary_endpoint, source.credential, table_name)

    def __repr__(self) -> str:
        return f"VideoLocations(table={self._client.table_name!r})"

    def remember(self, video_id: str, account: AccountRef) -> None:
        """Record (or replace) the account that holds `video_id`; the table is made if missing."""
        if not self._created:
            with contextlib.suppress(ResourceExistsError):
                self._client.create_table()
            self._created = True
        entity = {"PartitionKey": PARTITION, "RowKey": _checked(video_id), **account.to_dict()}
        self._client.upsert_entity(entity, mode=UpdateMode.REPLACE)

    def locate(self, video_id: str) -> AccountRef | None:
        """The account that holds `video_id`, checked as Azure issues ids; None if unknown."""
        try:
            entity = self._client.get_entity(PARTITION, _checked(video_id))
        except ResourceNotFoundError:
            return None
        return AccountRef.from_dict(entity)

    def close(self) -> None:
        """Release the SDK client's connections."""
        self._client.close()


def _checked(video_id: str) -> str:
    if not isinstance(video_id, str) or not _VIDEO_ID.fullmatch(video_id):
        raise ValueError("video_id: 1-256 letters, digits, '.', '_' or '-'")
    return video_id
