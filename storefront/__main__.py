"""`python -m storefront` is the `storefront` command; it lives in the composition root (`stack/`), not the origin."""

from stack.cli import main

raise SystemExit(main())
