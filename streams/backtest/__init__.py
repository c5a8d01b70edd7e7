"""Backtests: the worker's own rule code replayed over a file of events, in process, with no broker.

`replay` drives streams.engine.pipeline.BatchHandler on streams.state.memory_store.MemoryStore, so parsing, duplicate
handling, analytics and every rule are the very code the worker runs; only the store and the dead-letter
sink are in memory. `sources` reads JSON Lines and quote CSVs, `compare` sets two runs side by side,
`table` prints them, `report` draws them.
"""
