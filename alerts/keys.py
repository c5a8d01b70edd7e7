"""Every Redis key of the alert side, under the configured prefix: the one place their names are spelt.

The stream side writes some of these in its commit (the outbox and the alert index, streams/state/store.py)
and takes their names from here; its own keys are in streams/state/keys.py. Renaming one here renames it
everywhere, so existing data stays readable only while these strings stay as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_GLOB = re.compile(r"([*?\[\]\\])")


def glob_literal(text: str) -> str:
    """`text` matched literally in a SCAN pattern: a prefix such as `tw[1]:` must not be read as a glob."""
    return _GLOB.sub(r"\\\1", text)


@dataclass(frozen=True, slots=True)
class AlertKeys:
    prefix: str

    # The outbox: a stream of notices, each sink's cursor, its permanent failures and its sender's lease.
    @property
    def outbox(self) -> str:
        return f"{self.prefix}outbox"

    def outbox_cursor(self, sink: str) -> str:
        return f"{self.prefix}outbox:cursor:{sink}"

    def outbox_failed(self, sink: str) -> str:
        return f"{self.prefix}outbox:failed:{sink}"

    @property
    def outbox_failed_pattern(self) -> str:
        return glob_literal(f"{self.prefix}outbox:failed:") + "*"

    def outbox_lease(self, sink: str) -> str:
        return f"{self.prefix}outbox:lease:{sink}"

    # The alert index: `rule|severity` of each firing fingerprint, each fingerprint's newest notice, and its
    # notices (the newest 200), all written by the state commit.
    @property
    def active(self) -> str:
        return f"{self.prefix}alerts:active"

    @property
    def latest(self) -> str:
        return f"{self.prefix}alerts:latest"

    @property
    def history_prefix(self) -> str:
        return f"{self.prefix}alerts:history:"

    def history(self, fingerprint: str) -> str:
        return self.history_prefix + fingerprint

    @property
    def history_pattern(self) -> str:
        return glob_literal(self.history_prefix) + "*"

    # Acknowledgements (current, by fingerprint) and each fingerprint's log of them; silences.
    @property
    def ack(self) -> str:
        return f"{self.prefix}alerts:ack"

    def acklog(self, fingerprint: str) -> str:
        return f"{self.prefix}alerts:acklog:{fingerprint}"

    @property
    def silences(self) -> str:
        return f"{self.prefix}silences"

    # Per receiver: the notification log, digests waiting and the last digest sent, Slack incident threads.
    def nflog(self, receiver: str) -> str:
        return f"{self.prefix}nflog:{receiver}"

    def digest(self, receiver: str) -> str:
        return f"{self.prefix}digest:{receiver}"

    def digest_last(self, receiver: str) -> str:
        return f"{self.prefix}digest:{receiver}:last"

    def slack_incidents(self, receiver: str) -> str:
        return f"{self.prefix}slack:incidents:{receiver}"

    def alertmanager_firing(self, receiver: str) -> str:
        """The alerts an Alertmanager receiver was sent as firing and not yet as resolved, by fingerprint."""
        return f"{self.prefix}alertmanager:firing:{receiver}"
