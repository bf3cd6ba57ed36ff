"""What the big mailbox providers accept of an issue: bounce and complaint limits, and warnings.

The bounce and complaint limits, and a warning for each issue past them (after a send, and after returned mail is
read)."""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import date

from newsletter.store.deliverability import DeliverabilityStats, IssueRates

log = logging.getLogger(__name__)

# Gmail and Yahoo drop senders past about these shares of an issue (their bulk-sender rules).
BOUNCE_LIMIT = 0.02
COMPLAINT_LIMIT = 0.001


def rate_warnings(rates: list[IssueRates]) -> list[str]:
    """One line for each issue whose bounces or complaints pass what the big mailbox providers accept."""
    found = []
    for r in rates:
        if r.bounce_rate > BOUNCE_LIMIT:
            found.append(
                f"issue {r.issue_date}: {r.bounces} of {r.attempted} messages bounced ({r.bounce_rate:.1%}, "
                f"above {BOUNCE_LIMIT:.0%}): check the list for stale addresses"
            )
        if r.complaint_rate > COMPLAINT_LIMIT:
            found.append(
                f"issue {r.issue_date}: {r.complaints} of {r.attempted} messages drew a spam complaint "
                f"({r.complaint_rate:.2%}, above {COMPLAINT_LIMIT:.1%})"
            )
    return found


def warn_past_limits(stats: DeliverabilityStats, issue_dates: Collection[date]) -> list[str]:
    """Log (and return) a warning for each of these issues past the bounce or complaint limit."""
    warnings = rate_warnings(stats.issue_rates(issue_dates))
    for warning in warnings:
        log.warning("%s", warning)
    return warnings
