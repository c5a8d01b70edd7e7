"""Connection security from settings, for every client the worker opens, and the secrets to keep out of logs.

Kafka SASL/SSL goes to kafka-python (the producer of dead letters and alerts, the admin client that creates
topics, `tranchewatch publish`) and to faust (aiokafka, as `broker_credentials`, built from
`kafka_ssl_context` in streams/worker/credentials.py so that only the worker imports faust); Redis AUTH and
TLS go to redis-py. Secrets stay SecretStr in Settings and are read here only to hand them to the client.
"""

from __future__ import annotations

import ssl
from typing import Any

from streams.settings import Settings


def kafka_client_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for kafka-python's KafkaProducer and KafkaAdminClient."""
    options: dict[str, Any] = {"security_protocol": settings.kafka_security_protocol}
    if settings.kafka_security_protocol.startswith("SASL_"):
        assert settings.kafka_sasl_password is not None  # Settings checks SASL is complete
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": settings.kafka_sasl_password.get_secret_value(),
        }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options |= {
            "ssl_cafile": _path(settings.kafka_ssl_cafile),
            "ssl_certfile": _path(settings.kafka_ssl_certfile),
            "ssl_keyfile": _path(settings.kafka_ssl_keyfile),
            "ssl_check_hostname": settings.kafka_ssl_check_hostname,
        }
    return options


def kafka_ssl_context(settings: Settings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=_path(settings.kafka_ssl_cafile))
    context.check_hostname = settings.kafka_ssl_check_hostname
    if settings.kafka_ssl_certfile is not None:
        context.load_cert_chain(str(settings.kafka_ssl_certfile), _path(settings.kafka_ssl_keyfile))
    return context


def redis_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for redis.asyncio.Redis.from_url besides the URL (rediss:// turns TLS on)."""
    options: dict[str, Any] = {}
    if settings.redis_password is not None:
        options["password"] = settings.redis_password.get_secret_value()
    if settings.redis_url.get_secret_value().startswith("rediss://"):
        options |= {
            "ssl_ca_certs": _path(settings.redis_ssl_ca_file),
            "ssl_certfile": _path(settings.redis_ssl_cert_file),
            "ssl_keyfile": _path(settings.redis_ssl_key_file),
        }
    return options


def _path(value: object) -> str | None:
    return str(value) if value is not None else None
