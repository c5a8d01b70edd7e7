"""`tranchewatch rebuild`: the state rebuilt from the input topics' history after Redis lost it.

`run` drives the worker's own BatchHandler (through the backtest's `drive`) over `streams.kafka.history`
into the real Redis under a `rebuilding` state marker; `ledger` reads what `abs.alerts` shows as sent so
that nothing is notified twice; `cli` parses and prints.
"""
