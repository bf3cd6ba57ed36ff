"""The `main` group, its global options and what every command shares: State, the option decorators, output."""

from __future__ import annotations

import errno
import functools
import json
import logging
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from newsletter import __version__
from newsletter.errors import NewsletterError

if TYPE_CHECKING:
    from rich.console import Console

    from newsletter import pipeline
    from newsletter.config import Settings
    from newsletter.store import Database, PaperStore, Roster, SubscriberStore

F = TypeVar("F", bound=Callable[..., Any])


@functools.cache
def console() -> Console:
    from rich.console import Console

    # Piped or redirected, a listing is read by programs (grep, awk, a file): its rows are never folded at
    # the 80 columns rich assumes there, or an address would be cut in two. A terminal gets its own width.
    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else UNFOLDED)


UNFOLDED = 10_000  # columns: wider than any row of a listing


def _one_line(exc: click.UsageError) -> click.ClickException:
    """A usage error as one line and exit status 1, like every other bad input (click prints the usage
    and a hint around it and exits 2)."""
    where = exc.ctx.command_path if exc.ctx else "newsletter"
    return click.ClickException(f"{exc.format_message()} (see '{where} --help')")


# A group run without a command shows its help (click raises it as a usage error since 8.2).
_SHOW_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


class Command(click.Command):
    """Bad options or arguments as one line on stderr and exit status 1."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except _SHOW_HELP:
            raise
        except click.UsageError as exc:
            raise _one_line(exc) from None


class Group(Command, click.Group):
    """Turns expected failures and bad usage into one line on stderr and exit status 1 (its own options'
    through Command, its commands' as Commands)."""

    command_class = Command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NewsletterError as exc:
            raise click.ClickException(str(exc)) from None
        except click.UsageError as exc:  # an unknown command
            raise _one_line(exc) from None
        except OSError as exc:  # a file or folder given on the command line, or stdout: a full disk, a bad path
            if exc.errno == errno.EPIPE:
                raise  # `| head` stopped reading: click ends quietly
            where = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(f"{where}{exc.strerror or exc}") from None


class State:
    """Settings and stores, created on first use so that `--help` needs neither; a command that only reads
    or writes the store does not load the pipeline."""

    def __init__(self, config: str | None) -> None:
        self.config = config
        self.reads_only = False  # set by @reads_only: such a command never makes a database

    def close(self) -> None:
        """Closes the connections the command opened: the exit does not collect them (cli.run), and a
        SQLite connection closed folds its write-ahead log back into the database file."""
        opened = [self.__dict__.get("db"), getattr(self.__dict__.get("roster"), "db", None)]
        for source in {id(s): s for s in opened if s is not None}.values():
            source.dispose()

    @functools.cached_property
    def settings(self) -> Settings:
        from newsletter.config import load_settings

        return load_settings(self.config)

    def require_key(self) -> None:
        """Commands that sign or check reader links never run with a missing or published key."""
        from newsletter.config import require_secret_key

        require_secret_key(self.settings)

    def warn_example_values(self) -> None:
        """Commands that mail readers say, in one line, what readers see that is still the example's (and
        warn_readable_secrets)."""
        from newsletter.config import example_values

        found = example_values(self.settings)
        if found:  # a log line: with --log-format json, the collectors' format too
            where = self.settings.source_file or "the settings"
            logging.getLogger("newsletter").warning(
                "%s: set them in %s before mailing real readers", "; ".join(found), where
            )
        self.warn_readable_secrets()

    def warn_readable_secrets(self) -> None:
        """Commands that use the secrets say, in one line, of a config file holding them that others can read."""
        from newsletter.config import readable_secrets

        exposed = readable_secrets(self.settings)
        if exposed:
            logging.getLogger("newsletter").warning("%s", exposed)

    @functools.cached_property
    def db(self) -> Database:
        from newsletter.store import Database
        from newsletter.store.db import new_sqlite_file

        # Zero set-up (no config file, no database URL in the environment) makes ./newsletter.db on first use;
        # a database named by a config file or a variable is made by `db upgrade`. One made here would answer
        # "nothing" for the one the user meant (another folder, another shell's environment), or keep what
        # it is given apart from it.
        zero_setup = self.settings.source_file is None and "database.url" not in self.settings.from_environment
        new = new_sqlite_file(self.settings.database.url)
        if new is not None and (self.reads_only or not zero_setup):
            where = self.settings.source_file or "no config file here"
            raise NewsletterError(
                f"no database at {new} ({where}): nothing is stored there yet; give --config or check "
                "[database] url, or run `newsletter db upgrade` to start one"
            )
        db = Database.open(self.settings, create=zero_setup and not self.reads_only)
        if new is not None:
            # Zero set-up makes one where the command runs; said, so a command run from the wrong folder is seen.
            click.echo(f"note: no config file here; made a new database {new} (see 'newsletter init')", err=True)
        return db

    @functools.cached_property
    def subscribers(self) -> SubscriberStore:
        from newsletter.store import SubscriberStore

        return SubscriberStore(self.db)

    @functools.cached_property
    def roster(self) -> Roster:
        """Listing readers through the database driver alone when the schema is known to be current (no
        SQLAlchemy to load), else through Database, which migrates or refuses."""
        from newsletter.store.direct import open_direct
        from newsletter.store.roster import Roster

        return Roster(open_direct(self.settings) or self.db)

    @functools.cached_property
    def papers(self) -> PaperStore:
        from newsletter.store import PaperStore

        return PaperStore(self.db)

    @functools.cached_property
    def app(self) -> pipeline.Context:
        from newsletter import pipeline

        return pipeline.Context(self.settings, self.db)


def pass_state(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(click.get_current_context().find_object(State), *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def reads_only(func: F) -> F:
    """Under @pass_state: a command that only reads the store says where no database is yet, instead of
    making an empty one and answering from it."""

    @functools.wraps(func)
    def wrapper(state: State, *args: Any, **kwargs: Any) -> Any:
        state.reads_only = True
        return func(state, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")(func)


class Day(click.ParamType):  # type: ignore[type-arg]
    """A day as YYYY-MM-DD; for an issue, within the days it can carry (its return paths count days from 2020)."""

    name = "YYYY-MM-DD"

    def __init__(self, issue: bool = False) -> None:
        self.issue = issue

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            day = datetime.strptime(str(value), "%Y-%m-%d")
        except ValueError:
            self.fail(f"'{value}' is not a day of the calendar (YYYY-MM-DD)", param, ctx)
        if not self.issue:
            return day
        from newsletter.verp import ISSUE_DAYS

        first, last = ISSUE_DAYS
        if not first <= day.date() <= last:
            self.fail(f"{value} is outside {first}..{last}", param, ctx)
        return day


def date_option(help_text: str, issue: bool = False) -> Callable[[F], F]:
    """--date; `issue`: the day of an issue, which its messages carry."""
    return click.option("--date", "day", type=Day(issue), help=help_text)


def issue_day(state: State, day: datetime | None) -> date:
    from newsletter import pipeline

    return day.date() if day else pipeline.today(state.settings)


def counted(n: int, noun: str) -> str:
    """'1 paper', '3 papers'."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def write_file(path: str, text: str) -> None:
    """A file the user named, written whole or not at all: on failure (a full disk) one line naming it, and
    the file as it was (a temporary file beside it takes the text, then takes its place)."""
    import os
    import tempfile

    target = Path(path)
    try:
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    except OSError as exc:
        raise click.ClickException(f"cannot write {target}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise click.ClickException(f"cannot write {target}: {exc.strerror or exc}") from None


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    type=click.Path(dir_okay=False),  # $NEWSLETTER_CONFIG is read with the settings (config/load.py)
    help="Config file (default: $NEWSLETTER_CONFIG, else ./newsletter.toml if present).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log each step, including why a reader was skipped.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="One line per event; json for log collectors.",
)
@click.version_option(__version__, prog_name="newsletter")
@click.pass_context
def main(ctx: click.Context, config: str | None, verbose: bool, log_format: str) -> None:
    """A personal daily digest of new research papers, ranked per reader and mailed over SMTP."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter("%(levelname)s %(message)s"))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler], force=True)
    # psycopg warns when a pipeline cannot be closed on a connection already lost; the error that follows
    # is reported as the command's one line, so the warning would only be a second line saying the same.
    logging.getLogger("psycopg").setLevel(logging.ERROR)
    ctx.obj = State(config)
    ctx.call_on_close(ctx.obj.close)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "time": datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(),
                "logger": record.name,
                "message": record.getMessage(),
            },
            ensure_ascii=False,
        )


def normalized(email: str) -> str:
    from newsletter.addresses import normalize_email

    return normalize_email(email)
