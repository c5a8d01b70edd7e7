"""Topic names of the wire contract (CONTRACT.md). Names only: their creation, with partition counts, is
streams/kafka/topics.py, which re-exports these so either import works; the pure packages (ingest, engine)
import them from here, so they need no Kafka client."""

from __future__ import annotations

from typing import Final

QUOTES: Final = "bond.quotes"
DEALS: Final = "abs.deals"
FINANCIALS: Final = "issuer.financials"
DISTRIBUTIONS: Final = "abs.distributions"  # v2: the trustee's payment reports, keyed by tranche_id
SERVICER_REPORTS: Final = "abs.servicer_reports"  # v2: collateral performance per period, keyed by deal_id
RATINGS: Final = "abs.ratings"  # v2: credit ratings per agency, keyed by the subject's id
ENTITIES: Final = "abs.entities"  # v2: who owns whom, up to the government, keyed by entity_id
ALERTS: Final = "abs.alerts"
DEADLETTER: Final = "tranchewatch.deadletter"
INPUT_TOPICS: Final = (QUOTES, DEALS, FINANCIALS, DISTRIBUTIONS, SERVICER_REPORTS, RATINGS, ENTITIES)
