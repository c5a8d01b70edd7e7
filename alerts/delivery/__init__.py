"""From the outbox to the sinks: the notification pipeline, the sender with retries, the notification log, digests."""
