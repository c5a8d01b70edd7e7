"""The `tranchewatch` command and its subcommands."""
