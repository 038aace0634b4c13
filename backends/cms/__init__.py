"""The headless CMS: typed entries with per-locale fields, versions, drafts, scheduled publishing."""
