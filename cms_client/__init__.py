"""The storefront's client for the headless CMS: parallel-safe, cached, stale on error."""

from cms_client.client import CmsClient, CmsUnavailable

__all__ = ["CmsClient", "CmsUnavailable"]
