"""`python -m storefront` is the `storefront` command."""

from storefront.cli import main

raise SystemExit(main())
