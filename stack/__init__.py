"""The composition root: every service's settings at once (and, next, the CLI and the supervisor)."""
