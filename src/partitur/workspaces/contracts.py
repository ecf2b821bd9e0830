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
