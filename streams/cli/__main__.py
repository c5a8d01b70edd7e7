"""`python -m streams.cli.main`: the same as the `tranchewatch` command."""

from streams.cli.main import main

raise SystemExit(main())
