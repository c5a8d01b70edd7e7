"""The contract's events and topic names, the state documents kept per tranche, issuer, deal and market, and the analytics derived from them.

Pure: may import pydantic, QuantLib and alerts.core, never faust, kafka, redis or aiohttp."""
