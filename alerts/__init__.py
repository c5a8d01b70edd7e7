"""What decides, deduplicates and delivers: alert model, lifecycle, outbox, notifiers. No faust here."""
