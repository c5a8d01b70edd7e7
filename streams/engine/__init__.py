"""One batch: apply each event to the loaded snapshot and judge it with the rules.

Pure: never faust, kafka, redis or aiohttp."""
