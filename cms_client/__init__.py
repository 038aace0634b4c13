"""The storefront's client for the headless CMS: parallel-safe, cached, stale on error."""
