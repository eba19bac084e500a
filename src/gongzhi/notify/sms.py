"""SMS gateways behind one small Protocol, chosen by the ``sms_gateway`` setting.

A real provider (a carrier's or a cloud SMS API) is added as another class with the same
``send``; the platform never talks to one directly. Phone numbers never reach the log whole.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from typing import Protocol

from gongzhi.config import Settings
from gongzhi.crypto.masking import mask_phone  # one implementation, re-exported here

log = logging.getLogger("gongzhi.notify.sms")


class SmsError(Exception):
    """A delivery attempt failed and may succeed later (network, provider busy)."""


class SmsRejected(SmsError):
    """The provider refused the message for good (invalid number, blocked content)."""


class SmsGateway(Protocol):
    def send(self, phone: str, text: str) -> str:
        """Send one message; return the provider's message id or raise SmsError."""
        ...


@dataclass(frozen=True)
class SentSms:
    phone: str
    text: str
    message_id: str


class FakeSmsGateway:
    """Records messages in memory; can be told to fail the next calls (tests, the demo)."""

    def __init__(self) -> None:
        self.sent: list[SentSms] = []
        self._failures: list[SmsError] = []
        self._lock = threading.Lock()

    def fail_next(self, *errors: SmsError) -> None:
        with self._lock:
            self._failures.extend(errors)

    def send(self, phone: str, text: str) -> str:
        with self._lock:
            if self._failures:
                raise self._failures.pop(0)
            message = SentSms(phone, text, f"fake-{uuid.uuid4().hex[:12]}")
            self.sent.append(message)
        log.info("SMS (fake) to %s recorded as %s", mask_phone(phone), message.message_id)
        return message.message_id

    def to(self, phone: str) -> list[str]:
        """The texts sent to one number, oldest first."""
        with self._lock:
            return [m.text for m in self.sent if m.phone == phone]


class LoggingSmsGateway:
    """Writes each message to the log instead of sending it (a deployment without SMS)."""

    def send(self, phone: str, text: str) -> str:
        message_id = f"log-{uuid.uuid4().hex[:12]}"
        log.info("SMS to %s (%s): %s", mask_phone(phone), message_id, text)
        return message_id


_fake: FakeSmsGateway | None = None
_fake_lock = threading.Lock()


def get_gateway(settings: Settings) -> SmsGateway:
    """The configured gateway. The fake one is shared by the process, so what the
    in-process jobs sent can be looked at afterwards."""
    global _fake
    if settings.sms_gateway == "fake":
        with _fake_lock:
            if _fake is None:
                _fake = FakeSmsGateway()
            return _fake
    return LoggingSmsGateway()
