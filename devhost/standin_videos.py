"""The stand-in's VI video calls: an upload by URL and reading a video's index, per account.

As in VI, a video lives in the account it was uploaded to: reading its index from any other
account is 404 VIDEO_NOT_FOUND. An upload needs a Contributor token; reading, a Reader one.
Indexing is instant here: a video reads as Processed with a small set of insights.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from devhost.standin_accounts import Accounts, AccountState
from devhost.standin_reply import Reply, vi_error


@dataclass(frozen=True)
class VideoRequest:
    """`POST …/Videos?name=&videoUrl=` (video_id None) or `GET …/Videos/{id}/Index`."""

    method: str
    video_id: str | None
    query: dict[str, list[str]]


def video_reply(
    accounts: Accounts, state: AccountState, permission: str, request: VideoRequest
) -> Reply:
    """VI's answer to an upload or an index read on this account."""
    if request.video_id is None:
        if request.method != "POST":
            return vi_error(405, "METHOD_NOT_ALLOWED", f"{request.method} is not supported.")
        if permission != "Contributor":
            return vi_error(401, "USER_NOT_ALLOWED", "Uploading needs a Contributor token.")
        return _upload(accounts, state, request.query)
    if request.method != "GET":
        return vi_error(405, "METHOD_NOT_ALLOWED", f"{request.method} is not supported.")
    video = accounts.video(state, request.video_id)
    if video is None:
        return vi_error(
            404,
            "VIDEO_NOT_FOUND",
            f"Video {request.video_id} was not found in account {state.account.account_id}.",
        )
    return Reply(200, _index(video))


def _upload(accounts: Accounts, state: AccountState, query: dict[str, list[str]]) -> Reply:
    name = (query.get("name") or [""])[0]
    video_url = (query.get("videoUrl") or [""])[0]
    if not name or not video_url.startswith(("https://", "http://")):
        return vi_error(400, "INVALID_INPUT", "Give name and a videoUrl VI can download.")
    now = datetime.now(UTC).isoformat()
    video: dict[str, object] = {
        "accountId": state.account.account_id,
        "id": secrets.token_hex(5),
        "name": name,
        "created": now,
        "lastModified": now,
        "privacyMode": (query.get("privacy") or ["Private"])[0],
        "state": "Uploaded",
        "processingProgress": "0%",
        "sourceUrl": video_url,
    }
    accounts.store_video(state, video)
    return Reply(200, {k: v for k, v in video.items() if k != "sourceUrl"})


def _index(video: dict[str, object]) -> dict[str, object]:
    insights = {
        "version": "1.0.0.0",
        "duration": "0:00:42.0",
        "sourceLanguage": "en-US",
        "keywords": [{"id": 1, "text": "failover", "confidence": 0.97}],
        "labels": [{"id": 1, "name": "indoor"}],
    }
    return {
        "accountId": video["accountId"],
        "id": video["id"],
        "name": video["name"],
        "created": video["created"],
        "state": "Processed",
        "durationInSeconds": 42,
        "summarizedInsights": {"name": video["name"], "id": video["id"], **insights},
        "videos": [
            {
                "accountId": video["accountId"],
                "id": video["id"],
                "state": "Processed",
                "processingProgress": "100%",
                "insights": insights,
            }
        ],
    }
