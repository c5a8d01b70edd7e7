"""What operators ask of the alerts: the framework-free HTTP API and the service behind it and the CLI."""
