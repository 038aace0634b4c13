"""`python -m stack` is the `storefront` command."""

from stack.cli import main

raise SystemExit(main())
