"""The CMS service's settings, read once from `STOREFRONT_*` variables."""

from __future__ import annotations

from dataclasses import dataclass

from backends.common.settings import (
    CMS_URL,
    EDITOR_TOKEN,
    INVALIDATOR_URL,
    PREVIEW_TOKEN,
    WEBHOOK_SECRET,
    ServiceSettings,
    Var,
    database_replica_url,
    database_url,
    required,
    setting,
    workers,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class CmsSettings(ServiceSettings):
    name: str = "cms"
    url: str = setting(CMS_URL)
    database_url: str = setting(database_url("cms"))
    database_replica_url: str = setting(database_replica_url("cms"))
    workers: int = setting(workers("cms"))
    admin_token: str = required(EDITOR_TOKEN)  # the CMS's admin is the editor
    preview_token: str = required(PREVIEW_TOKEN)
    # Longest sleep of the scheduled-publish loop (it wakes when one is due).
    scheduler_interval: float = setting("CMS_SCHEDULER_INTERVAL", 30.0)
    # Told after every publish, so purges need not wait for the next outbox poll.
    webhook_url: str = setting(Var("CMS_WEBHOOK_URL", fallback=lambda env: f"{INVALIDATOR_URL.read(env)}/hooks/cms"))
    webhook_secret: str = required(WEBHOOK_SECRET)
