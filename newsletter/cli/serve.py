"""`newsletter init`, `run`, `serve` and `demo`: a starter config, the scheduler, the web pages, the demo."""

from __future__ import annotations

import contextlib
import logging
import signal
from pathlib import Path

import click

from newsletter.cli.root import State, console, main, pass_state


@main.command()
@click.option(
    "--path",
    type=click.Path(dir_okay=False),
    default="newsletter.toml",
    show_default=True,
    help="Where to write the config (never overwritten).",
)
def init(path: str) -> None:
    """Write a starter config with a fresh random web.secret_key (mode 0600)."""
    from newsletter.config import write_initial

    write_initial(Path(path))
    click.echo(f"wrote {path} with a fresh web.secret_key (keep it secret; changing it kills old links)")
    click.echo(
        "next: set [web] base_url, [smtp] and [sender] in it (every key: config.example.toml), "
        f"then `newsletter --config {path} db upgrade`"
    )


@main.command()
@pass_state
def run(state: State) -> None:
    """Run the scheduler in the foreground (daily ingest, then the day's issue); SIGTERM stops it cleanly."""
    from newsletter import schedule

    state.require_key()
    state.warn_example_values()
    logging.getLogger("newsletter").setLevel(logging.INFO)
    schedule.run_forever(state.app)


@main.command()
@click.option("--host", help="Address to listen on (default: web.host).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port to listen on (default: web.port).")
@pass_state
def serve(state: State, host: str | None, port: int | None) -> None:
    """Serve the reader's web pages: daily papers and search, sign-up (double opt-in), preferences,
    one-click unsubscribe (RFC 8058), the archive and /healthz."""
    import uvicorn

    from newsletter import listener
    from newsletter.web import create_app

    state.require_key()
    state.warn_readable_secrets()
    web = state.settings.web
    host, port = host or web.host, port or web.port
    sockets = listener.bind(host, port)
    # uvicorn's access log prints each path as it is, reader tokens included: the app writes its own.
    logging.getLogger("newsletter.web.access").setLevel(logging.INFO)
    config = uvicorn.Config(create_app(state.app), log_level="info", access_log=False)
    click.echo(f"Serving on http://{listener.place(host, port)} (Ctrl+C stops)", err=True)
    # uvicorn shuts down cleanly on SIGTERM, then raises it again to end the process, which would skip every
    # clean-up after it (the database left open): it ends the command as Ctrl+C does instead.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises Ctrl+C once it has shut down cleanly
        uvicorn.Server(config).run(sockets=sockets)


@main.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default="demo-out",
    show_default=True,
    help="Where to write the database and the received messages.",
)
@pass_state
def demo(state: State, out_dir: str) -> None:
    """Ingest the bundled sample papers and mail four demo readers through a local capture SMTP server."""
    from newsletter import demo as demo_module

    demo_module.run(state.settings, Path(out_dir), console())
