"""The composition root: the `storefront` command, the process supervisor and every service's settings at once."""
