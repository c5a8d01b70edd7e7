"""Raw Kafka bytes to a validated event, or a dead letter that says why. Never raises.

May import streams.model; never faust, kafka, redis or aiohttp."""
