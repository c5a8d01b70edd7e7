"""What people read: the watchlist, the read-only state API, the metrics catalogue. Framework-free."""
