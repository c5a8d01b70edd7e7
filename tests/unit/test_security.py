"""Secrets never reach a log line; security settings reach every client."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import faust
import pytest
from pydantic import ValidationError

from alerts.redact import install_redaction, secret_values
from alerts.routing.routes import RoutingConfig
from streams.security import kafka_client_options, redis_options
from streams.settings import Settings
from streams.worker.credentials import faust_credentials

SLACK = "https://hooks.slack.com/services/T000/B000/abcdefSECRET"
REDIS = "redis://:redis-pa55word@cache.internal:6379/0"
SASL = "kafka-sasl-pa55"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    factory = logging.getLogRecordFactory()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("tranchewatch.test.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield out
    logger.removeHandler(handler)
    logging.setLogRecordFactory(factory)


def secure_settings() -> Settings:
    return Settings(
        slack_webhook_url=SLACK,
        redis_url=REDIS,
        redis_password="another-redis-secret",
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="tw",
        kafka_sasl_password=SASL,
    )


def test_a_log_line_carrying_secrets_is_redacted(captured: io.StringIO) -> None:
    settings = secure_settings()
    install_redaction(secret_values(settings))
    log = logging.getLogger("tranchewatch.test.redaction")
    log.error("posting to %s failed; redis at %s", SLACK, REDIS)
    log.warning("sasl login with password=%s", SASL)
    log.info("token xoxb-1234-5678-abcdef and redis password %s", "another-redis-secret")
    log.info("a replica at redis://:unlisted-pw@replica.internal:6379/0")  # a password no setting holds
    try:
        raise ConnectionError(f"cannot reach {REDIS} nor {SLACK}")
    except ConnectionError:
        log.exception("and a traceback")
    text = captured.getvalue()
    for secret in (
        SLACK,
        "abcdefSECRET",
        "redis-pa55word",
        SASL,
        "another-redis-secret",
        "xoxb-1234",
        "unlisted-pw",
    ):
        assert secret not in text, text
    assert "redis://:<redacted>@replica.internal:6379/0" in text  # the rest of the line is still useful
    assert text.count("\n") >= 6


def test_one_filter_however_often_installed_with_the_routing_files_secrets_too(captured: io.StringIO) -> None:
    routing = RoutingConfig.model_validate(
        {"receivers": {"desk": {"type": "slack_bot", "token": "bot-t0ken-not-xox", "channel": "#abs"}}}
    )
    assert "bot-t0ken-not-xox" in secret_values(routing)
    first = install_redaction(secret_values(secure_settings()))
    assert install_redaction(secret_values(routing)) is first
    logging.getLogger("tranchewatch.test.redaction").warning("token %s, kafka %s", "bot-t0ken-not-xox", SASL)
    text = captured.getvalue()
    assert "bot-t0ken-not-xox" not in text and SASL not in text and text.count("<redacted>") == 2


def test_settings_never_print_secrets() -> None:
    settings = secure_settings()
    shown = repr(settings) + str(settings.as_dict())
    for secret in (SLACK, "redis-pa55word", SASL, "another-redis-secret"):
        assert secret not in shown


def test_kafka_sasl_and_ssl_reach_kafka_python_and_faust(tmp_path: object) -> None:
    settings = secure_settings()
    options = kafka_client_options(settings)
    assert options == {
        "security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "tw", "sasl_plain_password": SASL,
    }  # fmt: skip
    credentials = faust_credentials(settings)
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.username == "tw" and credentials.password == SASL
    assert str(credentials.mechanism.value) == "SCRAM-SHA-512" and credentials.ssl_context is None

    tls = Settings(kafka_security_protocol="SSL", kafka_ssl_check_hostname=False)
    assert kafka_client_options(tls)["ssl_check_hostname"] is False
    assert isinstance(faust_credentials(tls), faust.SSLCredentials)
    assert faust_credentials(Settings()) is None
    assert kafka_client_options(Settings()) == {"security_protocol": "PLAINTEXT"}


def test_sasl_without_its_password_fails_at_start() -> None:
    with pytest.raises(ValidationError, match="kafka_sasl_password"):
        Settings(kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="PLAIN", kafka_sasl_username="tw")


def test_redis_auth_and_tls_options() -> None:
    assert redis_options(Settings()) == {}
    assert redis_options(Settings(redis_password="pw")) == {"password": "pw"}
    tls = Settings(redis_url="rediss://cache:6380/0", redis_ssl_ca_file="/etc/ca.pem")
    assert redis_options(tls) == {"ssl_ca_certs": "/etc/ca.pem", "ssl_certfile": None, "ssl_keyfile": None}
