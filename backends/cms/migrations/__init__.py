"""The CMS's schema for migrations: its tables and where their revisions live."""

from pathlib import Path

from backends.cms.models import CmsBase
from backends.common.migrations import Schema

SCHEMA = Schema(name="cms", metadata=CmsBase.metadata, directory=Path(__file__).parent, prefixes=("cms_",))
