"""faust's `broker_credentials` from the settings' Kafka SASL/SSL (the kafka-python side is streams/security.py)."""

from __future__ import annotations

import faust
from faust.types.auth import CredentialsT

from streams.security import kafka_ssl_context
from streams.settings import Settings


def faust_credentials(settings: Settings) -> CredentialsT | None:
    """faust's broker_credentials: SASL (over TLS for SASL_SSL), TLS alone, or None for PLAINTEXT."""
    protocol = settings.kafka_security_protocol
    if protocol.startswith("SASL_"):
        assert settings.kafka_sasl_password is not None
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=settings.kafka_sasl_password.get_secret_value(),
            mechanism=settings.kafka_sasl_mechanism,
            ssl_context=kafka_ssl_context(settings) if protocol == "SASL_SSL" else None,
        )
    if protocol == "SSL":
        return faust.SSLCredentials(kafka_ssl_context(settings))
    return None
