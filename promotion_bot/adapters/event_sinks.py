"""Where `promotion-bot export` delivers record events, and the cursor that remembers how far.

Every event is a CloudEvents 1.0 event in JSON structured mode, serialised by the `cloudevents`
SDK (the CNCF's own implementation, so the attribute rules and the JSON format are the
specification's, not ours). Three sinks:

- `JsonLinesSink`: one event per line, appended to a file and fsynced before it counts as
  acknowledged. The file is its own receiver: ids already in it are never written again, so a
  run that stopped between the write and the cursor update writes nothing twice.
- `StreamSink`: one event per line on standard output, for log shippers.
- `HttpSink`: one structured-mode POST per event (`Content-Type: application/cloudevents+json`)
  to an HTTPS endpoint with TLS verification always on (plain http only to a loopback address,
  for local receivers and tests). A bearer token ($PROMOTION_BOT_EXPORT_TOKEN) and/or an HMAC
  of the body ($PROMOTION_BOT_EXPORT_HMAC_KEY, header X-Promotion-Bot-Signature:
  sha256=<hex>). A 2xx answer acknowledges; connection errors, timeouts, 408, 425, 429 and 5xx
  are retried with exponential backoff (Retry-After honoured up to a bound); any other answer
  stops the export. Redirects are not followed.

The cursor (`FileCursor`) holds the id of the last acknowledged event and is replaced
atomically after each acknowledgement, so it never passes an event the sink did not take.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import os
import ssl
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import urlparse

from cloudevents.core.bindings.http import to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from promotion_bot.core.errors import ConfigError
from promotion_bot.core.events import RecordEvent

TOKEN_ENV = "PROMOTION_BOT_EXPORT_TOKEN"
HMAC_ENV = "PROMOTION_BOT_EXPORT_HMAC_KEY"
SIGNATURE_HEADER = "X-Promotion-Bot-Signature"
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0


class DeliveryError(Exception):
    """The sink did not acknowledge an event (after the retries, where they apply)."""


def cloud_event(event: RecordEvent) -> CloudEvent:
    return CloudEvent(event.attributes(), dict(event.data))


def structured_json(event: RecordEvent) -> bytes:
    """The event in the CloudEvents JSON format (structured mode), one line."""
    return JSONFormat().write(cloud_event(event))


class Sink(Protocol):
    description: str

    def deliver(self, event: RecordEvent) -> None:
        """Return once the sink acknowledged the event; raise DeliveryError otherwise."""

    def close(self) -> None: ...


# --- files and streams ----------------------------------------------------------------------


class JsonLinesSink:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = str(path)
        self._seen = self._ids_in_file()
        try:
            self._handle: IO[bytes] = path.open("ab")
        except OSError as error:
            raise ConfigError(f"{path}: cannot open for appending ({error.strerror})") from None

    def _ids_in_file(self) -> set[str]:
        try:
            lines = self.path.read_bytes().splitlines()
        except FileNotFoundError:
            return set()
        except OSError as error:
            raise ConfigError(f"{self.path}: cannot read ({error.strerror})") from None
        seen: set[str] = set()
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                seen.add(str(json.loads(line)["id"]))
            except (ValueError, KeyError, TypeError):
                raise ConfigError(
                    f"{self.path}:{number}: not a CloudEvent in JSON (no id); the file is not an "
                    "export of promotion-bot: give another file"
                ) from None
        return seen

    def deliver(self, event: RecordEvent) -> None:
        if event.id in self._seen:
            return
        try:
            self._handle.write(structured_json(event) + b"\n")
            self._handle.flush()
            os.fsync(self._handle.fileno())
        except OSError as error:
            raise DeliveryError(f"{self.path}: write failed ({error.strerror})") from None
        self._seen.add(event.id)

    def close(self) -> None:
        self._handle.close()


class StreamSink:
    def __init__(self, stream: IO[bytes], description: str = "standard output") -> None:
        self.stream = stream
        self.description = description

    def deliver(self, event: RecordEvent) -> None:
        try:
            self.stream.write(structured_json(event) + b"\n")
            self.stream.flush()
        except OSError as error:
            raise DeliveryError(f"{self.description}: write failed ({error.strerror})") from None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.stream.flush()


# --- HTTP -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpAuth:
    token: str | None = None
    hmac_key: bytes | None = None

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> HttpAuth:
        token = env.get(TOKEN_ENV) or None
        key = env.get(HMAC_ENV) or None
        return cls(token, key.encode("utf-8") if key else None)

    def headers(self, body: bytes) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.hmac_key:
            digest = hmac.new(self.hmac_key, body, hashlib.sha256).hexdigest()
            headers[SIGNATURE_HEADER] = f"sha256={digest}"
        return headers


@dataclass
class RetryPolicy:
    retries: int = 5
    backoff: float = 0.5  # seconds before the first retry; doubles each time
    max_backoff: float = 30.0
    timeout: float = 10.0
    sleep: Callable[[float], None] = field(default=time.sleep)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        computed = min(self.max_backoff, self.backoff * (2**attempt))
        if retry_after is not None:
            return float(min(MAX_RETRY_AFTER, max(computed, retry_after)))
        return float(computed)


def check_endpoint(url: str) -> str:
    """https://..., or http:// to a loopback address only; ConfigError otherwise."""
    parsed = urlparse(url)
    if parsed.scheme == "https" and parsed.hostname:
        return url
    if parsed.scheme == "http" and parsed.hostname and _loopback(parsed.hostname):
        return url
    if parsed.scheme == "http":
        raise ConfigError(
            f"--to {url}: plain http is refused (the events name approvers and artifacts); use "
            "https:// (http is only allowed to a loopback address)"
        )
    raise ConfigError(f"--to {url}: not an https:// URL")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class _Answer:
    acknowledged: bool
    retryable: bool
    reason: str
    retry_after: float | None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is an answer, not an acknowledgement


class HttpSink:
    def __init__(
        self,
        url: str,
        auth: HttpAuth,
        retry: RetryPolicy,
        ca_file: Path | None = None,
    ) -> None:
        self.url = check_endpoint(url)
        self.description = url
        self.auth = auth
        self.retry = retry
        handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
        # the certificate store is read (tens of milliseconds) only for an https receiver, or
        # to say at once that a --ca-file cannot be read
        if ca_file is not None or self.url.lower().startswith("https:"):
            try:
                context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
            except (OSError, ssl.SSLError) as error:
                raise ConfigError(f"--ca-file {ca_file}: cannot load ({error})") from None
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self._opener = urllib.request.build_opener(*handlers)
        self.attempts = 0

    def deliver(self, event: RecordEvent) -> None:
        message = to_structured(cloud_event(event), JSONFormat())
        body = message.body
        headers = {**message.headers, **self.auth.headers(body)}
        headers["User-Agent"] = "promotion-bot-export"
        answer = _Answer(False, True, "no attempt", None)
        for attempt in range(self.retry.retries + 1):
            if attempt:
                self.retry.sleep(self.retry.delay(attempt - 1, answer.retry_after))
            self.attempts += 1
            answer = self._post(body, headers)
            if answer.acknowledged:
                return
            if not answer.retryable:
                raise DeliveryError(f"{self.url} refused event {event.id[:12]}: {answer.reason}")
        raise DeliveryError(
            f"{self.url} did not acknowledge event {event.id[:12]} after "
            f"{self.retry.retries + 1} attempts: {answer.reason}"
        )

    def _post(self, body: bytes, headers: dict[str, str]) -> _Answer:
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=self.retry.timeout) as response:
                response.read()
                status = int(response.status)
        except urllib.error.HTTPError as error:
            retry_after = _seconds(error.headers.get("Retry-After"))
            with contextlib.suppress(OSError):
                error.read()
            error.close()
            retryable = error.code in RETRYABLE_STATUS
            return _Answer(False, retryable, f"HTTP {error.code}", retry_after)
        except (urllib.error.URLError, OSError, TimeoutError) as error:
            reason = getattr(error, "reason", error)
            if isinstance(reason, ssl.SSLCertVerificationError):
                return _Answer(
                    False, False, f"TLS certificate not trusted ({reason.verify_message})", None
                )
            return _Answer(False, True, f"no answer ({reason})", None)
        if 200 <= status < 300:
            return _Answer(True, False, f"HTTP {status}", None)
        return _Answer(False, status in RETRYABLE_STATUS, f"HTTP {status}", None)

    def close(self) -> None:
        return None


def _seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


# --- the cursor -----------------------------------------------------------------------------


class FileCursor:
    """`{"cursor_version": 1, "last_event_id": ..., "last_record": ..., "updated_at": ...}`,
    replaced atomically (a temporary file in the same folder, fsync, rename)."""

    def __init__(self, path: Path, clock: Callable[[], dt.datetime]) -> None:
        self.path = path
        self.clock = clock

    def read(self) -> str | None:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as error:
            raise ConfigError(f"--cursor {self.path}: cannot read ({error.strerror})") from None
        try:
            data = json.loads(raw)
            value = data["last_event_id"]
        except (ValueError, KeyError, TypeError):
            raise ConfigError(
                f"--cursor {self.path}: not a cursor file of promotion-bot export (no "
                "last_event_id); give another path, or delete it to deliver everything again"
            ) from None
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"--cursor {self.path}: last_event_id is not a string")
        return value

    def advance(self, event: RecordEvent) -> None:
        data = {
            "cursor_version": 1,
            "last_event_id": event.id,
            "last_record": event.subject,
            "updated_at": self.clock().astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        folder = self.path.parent
        try:
            descriptor, temporary = tempfile.mkstemp(prefix=".cursor-", dir=folder)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(data, handle)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except OSError as error:
            raise DeliveryError(
                f"--cursor {self.path}: cannot write ({error.strerror}); event {event.id[:12]} "
                "was delivered and will be delivered again next time"
            ) from None
