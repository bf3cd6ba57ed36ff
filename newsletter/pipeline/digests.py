"""Each reader's digest: the builder (candidates analysed once per window), previews and explanations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from newsletter import selection
from newsletter.message import Composer
from newsletter.models import Digest, Outgoing, Paper, Subscriber
from newsletter.pipeline.context import Context, today


class DigestBuilder:
    """Builds each reader's digest; candidate papers are analysed once per announcement window, and the
    archive lookups of a batch of readers are made in one query each (`preload`)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._indexes: dict[tuple[date, date], tuple[selection.Index, selection.Cache]] = {}
        self._quiet: dict[tuple[date, date], tuple[date, ...]] = {}
        self._latest: dict[date, date | None] = {}
        self._last_sent: dict[int, date] = {}
        self._sent: dict[int, dict[str, int | None]] = {}
        self._preloaded: set[int] = set()

    def preload(self, subscribers: Sequence[Subscriber], issue_date: date) -> None:
        ids = [s.id for s in subscribers]
        self._last_sent = self.ctx.archive.last_sent_many(ids, issue_date)
        starts = [w[0] for w in (self.window(self._last_sent.get(i), issue_date) for i in ids) if w]
        # What was sent before the earliest window of the batch cannot come up again: not read.
        self._sent = self.ctx.archive.sent_versions_many(ids, since=min(starts)) if starts else {}
        self._preloaded = set(ids)

    def _lookups(self, subscriber: Subscriber, issue_date: date) -> tuple[date | None, dict[str, int | None]]:
        if subscriber.id in self._preloaded:
            return self._last_sent.get(subscriber.id), self._sent.get(subscriber.id, {})
        return (
            self.ctx.archive.last_sent_issue(subscriber.id, before=issue_date),
            self.ctx.archive.sent_versions(subscriber.id),
        )

    def window(self, last_sent: date | None, issue_date: date) -> tuple[date, date] | None:
        """Papers announced since the last sent digest; a new reader gets the latest announcement."""
        if last_sent is not None:
            return last_sent + timedelta(days=1), issue_date
        if issue_date not in self._latest:
            self._latest[issue_date] = self.ctx.papers.latest_announcement(issue_date)
        latest = self._latest[issue_date]
        if latest is None:
            return None
        # The latest announcement however old it is (a quiet week must not mean a silent first digest),
        # with the days just before it.
        return latest - timedelta(days=self.ctx.settings.digest.first_digest_days - 1), issue_date

    def build(self, subscriber: Subscriber, issue_date: date, history: bool = True) -> Digest:
        """This reader's digest; without `history`, as if nothing had been sent yet (a preview of taste)."""
        return self.build_many([subscriber], issue_date, history)[0]

    def build_many(self, subscribers: Sequence[Subscriber], issue_date: date, history: bool = True) -> list[Digest]:
        """These readers' digests, in order; readers of one announcement window are ranked together."""
        digests: list[Digest | None] = [None] * len(subscribers)
        windows: dict[tuple[date, date], list[tuple[int, selection.Reader]]] = {}
        for n, subscriber in enumerate(subscribers):
            last_sent, sent = self._lookups(subscriber, issue_date) if history else (None, {})
            window = self.window(last_sent, issue_date)
            if window is None:
                digests[n] = Digest(subscriber, issue_date, (), issue_date, issue_date, 0)
                continue
            prefs = subscriber.preferences
            liked, disliked = self.ctx.papers.get_many(prefs.liked), self.ctx.papers.get_many(prefs.disliked)
            windows.setdefault(window, []).append((n, selection.Reader(subscriber, sent, liked, disliked)))
        for window, readers in windows.items():
            index, topic_scores = self._index(window)
            phrases = dict.fromkeys(t for _, r in readers for t in r.subscriber.preferences.topics)
            ranked = selection.rank_many(
                [r for _, r in readers],
                index,
                topic_scores=topic_scores,
                profiles=self.ctx.meanings.profiles(phrases, issue_date),
            )
            for (n, reader), picks in zip(readers, ranked, strict=True):
                digests[n] = Digest(
                    reader.subscriber, issue_date, tuple(picks), *window, len(index.docs), self._quiet[window]
                )
        return [d for d in digests if d is not None]

    def _index(self, window: tuple[date, date]) -> tuple[selection.Index, selection.Cache]:
        """The window's candidates analysed, and the cache of its scored phrases: once per window, shared by
        every reader."""
        if window not in self._indexes:
            candidates = self.ctx.papers.announced_between(*window)
            self._indexes[window] = (selection.Index(candidates, self.ctx.meanings.vocabulary()), {})
            self._quiet[window] = quiet_days(
                self._indexes[window][0].papers, *window, known_since=self.ctx.papers.first_announcement()
            )
        return self._indexes[window]

    def explain(self, subscriber: Subscriber, issue_date: date, top: int) -> list[selection.Explained]:
        """The best candidates of this reader's next digest with the parts of their scores."""
        last_sent, sent = self._lookups(subscriber, issue_date)
        window = self.window(last_sent, issue_date)
        if window is None:
            return []
        index = selection.Index(self.ctx.papers.announced_between(*window), self.ctx.meanings.vocabulary())
        prefs = subscriber.preferences
        return selection.explain(
            subscriber,
            index,
            sent,
            liked=self.ctx.papers.get_many(prefs.liked),
            disliked=self.ctx.papers.get_many(prefs.disliked),
            profiles=self.ctx.meanings.profiles(prefs.topics, issue_date),
            top=top,
        )


def quiet_days(papers: Sequence[Paper], start: date, end: date, known_since: date | None = None) -> tuple[date, ...]:
    """Weekdays of the window with no announcement: a holiday, worth saying so that a short digest is
    not taken for a fault. Only days between the first announcement ever stored (`known_since`; before
    it the service was not collecting) and the window's last one (today's may be yet to come)."""
    announced = {p.announced for p in papers if p.announced and start <= p.announced <= end}
    if not announced:
        return ()
    first = max(start, known_since + timedelta(days=1)) if known_since else start
    days = (first + timedelta(days=n) for n in range((max(announced) - first).days))
    return tuple(d for d in days if d.weekday() < 5 and d not in announced)


def build_digest(ctx: Context, subscriber: Subscriber, issue_date: date) -> Digest:
    return DigestBuilder(ctx).build(subscriber, issue_date)


def preview(ctx: Context, email: str, issue_date: date) -> tuple[Outgoing, str | None]:
    """The message this reader would get for this issue (the archived one if it exists), and why `send`
    would not mail it, if it would not; changes nothing."""
    subscriber = ctx.subscribers.require(email)
    archived = ctx.archive.load_digest(subscriber, issue_date)
    digest = archived or build_digest(ctx, subscriber, issue_date)
    return Composer(ctx.settings).compose(digest), None if archived else unsent_reason(ctx, digest)


def unsent_reason(ctx: Context, digest: Digest) -> str | None:
    """Why `send` skips this digest, if it does: nothing picked, unless digest.send_empty."""
    if not digest.picks and not ctx.settings.digest.send_empty:
        return f"nothing relevant among {digest.candidates} papers"
    return None


def explain(ctx: Context, email: str, issue_date: date, top: int = 15) -> list[selection.Explained]:
    """Why this reader's next digest holds what it holds: the best candidates, picked or not, with the parts
    of their scores (`preview --explain`)."""
    return DigestBuilder(ctx).explain(ctx.subscribers.require(email), issue_date, top)


def sample_digest(ctx: Context, subscriber: Subscriber) -> Digest:
    """What this reader would get today from the latest announcement, whatever was sent before: the
    preferences page's preview, which changes nothing."""
    return DigestBuilder(ctx).build(subscriber, today(ctx.settings), history=False)
