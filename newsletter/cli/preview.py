"""`newsletter preview`: a reader's digest rendered (HTML, text or a screenshot) or explained, nothing sent."""

from __future__ import annotations

import textwrap
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from newsletter.cli.root import (
    State,
    console,
    date_option,
    issue_day,
    json_option,
    main,
    normalized,
    pass_state,
    print_json,
    reads_only,
    write_file,
)

if TYPE_CHECKING:
    from newsletter.selection import Explained


@main.command()
@click.argument("email")
@date_option("Issue date (default: today).", issue=True)
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="Write the HTML to this file.")
@click.option("--text", is_flag=True, help="Print the plain-text part instead of the HTML.")
@click.option("--png", "png", type=click.Path(dir_okay=False), help="Save a screenshot (headless Chromium).")
@click.option("--width", type=click.IntRange(320, 1600), default=600, show_default=True, help="Screenshot width.")
@click.option("--dark", is_flag=True, help="Screenshot in dark mode.")
@click.option("--explain", is_flag=True, help="List the best candidates with the parts of their scores instead.")
@click.option("--top", type=click.IntRange(1, 500), default=15, show_default=True, help="Candidates --explain lists.")
@json_option
@pass_state
@reads_only
def preview(
    state: State,
    email: str,
    day: datetime | None,
    out_path: str | None,
    text: bool,
    png: str | None,
    width: int,
    dark: bool,
    explain: bool,
    top: int,
    as_json: bool,
) -> None:
    """Render a subscriber's digest without sending or recording anything; --explain shows why."""
    from newsletter import pipeline

    if explain:
        reader, issue = state.app.subscribers.require(normalized(email)), issue_day(state, day)
        show_explained(pipeline.explain(state.app, reader.email, issue, top), as_json)
        archived = state.app.deliveries.get(reader.id, issue)
        if archived is not None and not as_json:
            # The archived digest stays as it was made; these scores are today's, with its papers sent.
            click.echo(
                f"issue {issue} is already made for {reader.email} ({archived.state}): these are today's scores, "
                "its papers counted as sent; `preview` shows that digest as it was made"
            )
        return
    if as_json and (out_path or png or text):
        raise click.UsageError("--json prints the whole message: it does not go with --out, --png or --text")
    message, unsent = pipeline.preview(state.app, normalized(email), issue_day(state, day))
    if unsent:
        click.echo(f"note: {unsent}: `send` does not mail this digest (digest.send_empty = false)", err=True)
    if as_json:
        print_json(
            {
                "to": message.recipient,
                "return_path": message.sender,
                "subject": message.subject,
                "message_id": message.message_id,
                "text": message.text,
                "html": message.html,
            }
        )
        return
    if png:
        import tempfile

        from newsletter.screenshot import screenshot

        with tempfile.TemporaryDirectory() as folder:
            page = Path(folder) / "digest.html"
            page.write_text(message.html, encoding="utf-8")
            screenshot(page, Path(png), width=width, dark=dark)
        click.echo(f"{message.subject}\nwrote {png} ({width} px{', dark' if dark else ''})")
        return
    body = message.text if text else message.html
    if out_path:
        write_file(out_path, body)
        click.echo(f"{message.subject}\nwrote {out_path} ({len(body.encode()) / 1024:.1f} KB)")
    else:
        click.echo(body)


def show_explained(rows: list[Explained], as_json: bool) -> None:
    if as_json:
        print_json([r.to_dict() for r in rows])
        return
    from rich.table import Table

    from newsletter.selection import BACKGROUND_WEIGHT, CATEGORY_WEIGHT, legend

    weighted = (f"bg×{BACKGROUND_WEIGHT:g}", f"cat×{CATEGORY_WEIGHT:g}")
    # One space between columns and short headers: the topic and title keep a readable width in 80 columns.
    table = Table(box=None, padding=(0, 1, 0, 0), pad_edge=False)
    for header in ("", "id", "score", "lex", *weighted, "fb"):
        table.add_column(header, no_wrap=True)  # numbers and ids whole; the topic and the title wrap
    table.add_column("topic: title", ratio=1, overflow="fold")
    for r in rows:
        mark = "✓" if r.picked else ("excl" if r.excluded else ("sent" if r.already_sent else ""))
        parts = (r.score, r.lexical, r.background, r.categories, r.feedback)
        title = f"{r.topic}: {r.paper.title}" if r.topic else r.paper.title
        table.add_row(mark, r.paper.id, *(f"{v:.3f}" for v in parts), title)
    out = console()
    out.print(table)
    click.echo(textwrap.fill(legend(), width=out.width))  # at the terminal's width, like the table
    evidence = {r.topic: r.why.evidence for r in rows if r.why and r.why.kind == "topic" and r.why.evidence}
    for topic, line in sorted(evidence.items()):
        click.echo(f"what '{topic}' means: {line}")
    click.echo(f"the best {len(rows)} candidates, {sum(r.picked for r in rows)} of them picked (✓)")
    if rows and not any(r.topic or r.why for r in rows):
        click.echo("no topic, category, author or liked paper scores these: the digest is the day's trending papers")
