"""`tranchewatch demo`: the embedded broker, the local Redis, the bus-company story (scenario.jsonl, rules.toml), the worker."""
