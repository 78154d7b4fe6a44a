"""What ``roleport serve`` (and ``roleport notifications run``) are told about expiry
notifications: the sinks, the webhook's retries, the evaluation interval."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_INTERVAL_SECONDS = 86400.0
DEAD_LETTER_NAME = "notifications-dead-letter.jsonl"


@dataclass(frozen=True)
class NotificationConfig:
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_retries: int = 5
    webhook_backoff_seconds: float = 1.0
    webhook_timeout_seconds: float = 10.0
    #: where an event goes after the webhook's last retry (default: DATA_DIR/...)
    dead_letter: Path | None = None
    file: Path | None = None
    stdout: bool = False
    interval_seconds: float = DEFAULT_INTERVAL_SECONDS

    @property
    def has_sinks(self) -> bool:
        return bool(self.webhook_url or self.file or self.stdout)

    def sink_names(self) -> list[str]:
        """The sinks, for the banner (the webhook by its URL, never its secret)."""
        names = [f"webhook {self.webhook_url}"] if self.webhook_url else []
        names += [f"file {self.file}"] if self.file else []
        return names + (["stdout"] if self.stdout else [])

    def sinks(self, data_dir: Path) -> list[Any]:
        from roleport.ops.sinks import FileSink, StdoutSink, WebhookSink

        sinks: list[Any] = []
        if self.webhook_url:
            assert self.webhook_secret, "a webhook needs its secret"
            sinks.append(WebhookSink(
                self.webhook_url, self.webhook_secret.encode(),
                self.dead_letter or Path(data_dir) / DEAD_LETTER_NAME,
                retries=self.webhook_retries, backoff=self.webhook_backoff_seconds,
                timeout=self.webhook_timeout_seconds))
        if self.file:
            sinks.append(FileSink(self.file))
        if self.stdout:
            sinks.append(StdoutSink())
        return sinks
