"""The --notify-* options: a webhook needs its secret, from one place; bad values are
usage errors, not tracebacks; the secret never shows in a repr."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from roleport.cli.notifications import notification_options, notifications
from roleport.ops.config import NotificationConfig
from roleport.ops.sinks import FileSink, WebhookSink, sign, verify


@click.command()
@notification_options
def probe(notifications: NotificationConfig) -> None:
    click.echo(repr(notifications))


def _run(*args: str, env: dict[str, str] | None = None):  # noqa: ANN202
    return CliRunner().invoke(probe, list(args), env=env)


def test_a_webhook_needs_a_secret_from_exactly_one_place(tmp_path):
    assert "needs --notify-webhook-secret" in _run("--notify-webhook", "http://h/x").output
    secret_file = tmp_path / "secret"
    secret_file.write_text("  from-file \n")
    both = _run("--notify-webhook", "http://h/x", "--notify-webhook-secret", "a",
                "--notify-webhook-secret-file", str(secret_file))
    assert both.exit_code == 2 and "not both" in both.output
    ok = _run("--notify-webhook", "http://h/x", "--notify-webhook-secret-file",
              str(secret_file))
    assert ok.exit_code == 0 and "from-file" not in ok.output  # repr hides the secret
    env = _run("--notify-webhook", "https://h/x",
               env={"ROLEPORT_NOTIFY_WEBHOOK_SECRET": "from-env"})
    assert env.exit_code == 0 and "from-env" not in env.output


def test_only_http_urls_and_sane_numbers_are_accepted():
    assert _run("--notify-webhook", "file:///etc/passwd", "--notify-webhook-secret",
                "s").exit_code == 2
    assert _run("--notify-interval", "0").exit_code == 2
    assert _run("--notify-webhook-retries", "-1").exit_code == 2


def test_sinks_follow_the_options(tmp_path):
    config = NotificationConfig(webhook_url="http://h/x", webhook_secret="k",
                                file=tmp_path / "e.jsonl")
    webhook, file = config.sinks(tmp_path)
    assert isinstance(webhook, WebhookSink) and isinstance(file, FileSink)
    assert webhook.dead_letter == tmp_path / "notifications-dead-letter.jsonl"
    assert not NotificationConfig().has_sinks


def test_signature_verifies_only_the_same_body_secret_and_a_recent_time():
    signature = sign(b"k", "1000", b"{}")
    assert verify(b"k", "1000", b"{}", signature, now=1100)
    assert not verify(b"k", "1000", b"{ }", signature, now=1100)
    assert not verify(b"other", "1000", b"{}", signature, now=1100)
    assert not verify(b"k", "1000", b"{}", signature, now=1000 + 301)
    assert not verify(b"k", "soon", b"{}", signature)


def test_run_refuses_a_time_it_cannot_read(tmp_path):
    out = CliRunner().invoke(notifications, ["run", "--data-dir", str(tmp_path),
                                             "--at", "next tuesday"])
    assert out.exit_code == 2 and "ISO-8601" in out.output


@pytest.mark.parametrize("at", ["2027-01-31T09:00:00Z", "2027-01-31T09:00:00"])
def test_run_dry_run_on_an_empty_database_prints_nothing(tmp_path, at):
    out = CliRunner().invoke(notifications, ["run", "--data-dir", str(tmp_path), "--at", at,
                                             "--dry-run"])
    assert out.exit_code == 0, out.output
    assert out.output == ""


def test_the_metrics_listener_refuses_a_busy_port_and_serves_what_it_is_given():
    import httpx

    from roleport.server.metrics_runtime import MetricsListener

    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        with pytest.raises(click.ClickException, match="for metrics"):
            MetricsListener("127.0.0.1", busy)
    free = MetricsListener("127.0.0.1", 0)
    free.start(lambda: b"roleport_up 1\n")
    port = free._server.server_address[1]
    answer = httpx.get(f"http://127.0.0.1:{port}/anything")
    assert answer.status_code == 200 and answer.text == "roleport_up 1\n"
    free._server.shutdown()
