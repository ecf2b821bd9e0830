from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class Workspace(BaseModel):
    id: str
    name: str
    created_at: datetime


class Source(BaseModel):
    id: str
    workspace_id: str
    name: str
    write_key: str
    created_at: datetime
    #: a disabled source's write key is refused
    disabled_at: datetime | None = None


class SourceInfo(BaseModel):
    """A source as every reader sees it: the write key only for admins."""

    id: str
    name: str
    created_at: datetime
    #: the source's write key; None unless the caller may administer the workspace
    write_key: str | None = None
