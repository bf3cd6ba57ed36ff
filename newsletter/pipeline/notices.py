"""One-off mails to one reader (a sign-up's confirmation), outside any issue and its ledger."""

from __future__ import annotations

import logging

from newsletter.deliver.smtp import SmtpMailer
from newsletter.links import confirm_link, reader_links
from newsletter.message import Composer
from newsletter.models import SendResult, Subscriber
from newsletter.pipeline.context import Context
from newsletter.readers import signup
from newsletter.render import Notice

log = logging.getLogger(__name__)


async def mail_notice(ctx: Context, composer: Composer, subscriber: Subscriber, notice: Notice) -> SendResult:
    """A one-off mail (a sign-up confirmation) over the digests' SMTP settings; a failure is logged, and
    the reader can ask again. The caller keeps its composer: templates and keys are loaded once."""
    mailer = SmtpMailer(ctx.settings.smtp)
    try:
        result = await mailer.send(composer.compose_notice(subscriber, notice))
    finally:
        await mailer.close()
    if not result.ok:
        log.warning(
            "notice %r to subscriber %d not sent: %d %s", notice.subject, subscriber.id, result.code, result.reply
        )
    return result


async def mail_signup(ctx: Context, composer: Composer, outcome: signup.Outcome) -> SendResult:
    """A sign-up's mail: the confirmation link, or the preferences link of a reader already subscribed."""
    subscriber, kind = outcome.subscriber, outcome.kind
    assert subscriber is not None and kind is not None, "only an outcome that mails anyone"
    if kind is signup.MailKind.CONFIRM:
        url = confirm_link(ctx.settings, composer.tokens, subscriber)
    else:
        url = reader_links(ctx.settings, composer.tokens, subscriber).preferences
    return await mail_notice(ctx, composer, subscriber, signup.notice(ctx.settings, kind, url))
