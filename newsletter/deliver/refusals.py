"""Refusals before the server has taken any message of a run: the readers' own, or the server refusing us.

A relay that denies every recipient with a plain 550 (no 5.7.x to tell it by) would bounce and suppress every
reader of a list one by one. So a permanent refusal that comes before the first accepted message is kept
back until it is clear whose it is: the server takes a message, or refuses another reader differently (the
readers' own, recorded); or it refuses readers at SAME_REFUSAL_DOMAINS domains or more in the same words (the
server refusing us: the run stops and none of them is marked).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from newsletter.models import Delivery, Outgoing, SendResult

# At most SAME_REFUSALS alike of fewer domains are kept back at once: then they are one domain's readers (a
# domain that is gone), each refused for their own address.
SAME_REFUSALS = 10
SAME_REFUSAL_DOMAINS = 3

Sent = tuple[Delivery, Outgoing, SendResult]


@dataclass
class FirstRefusals:
    """What a campaign's senders tell it, judged: what to record now, or why the run must stop."""

    held: list[Sent] = field(default_factory=list)
    accepted: bool = False  # the server has taken a message of this run
    blamed: bool = False  # the server is refusing us: what is held stays unmarked

    def judge(self, sent: Sent) -> tuple[list[Sent], str | None]:
        """The outcomes to record now, in order, and the reason to stop the run (None: go on)."""
        _, _, result = sent
        if not result.ok and not result.transient and not self.accepted:
            self.held.append(sent)
            if self.blamed:
                return [], None
            if self.refuses_us():
                self.blamed = True
                return [], self.reason()
            if self._alike() and len(self.held) < SAME_REFUSALS:
                return [], None
            told, self.held = self.held, []  # told apart, or one domain's readers alike: their own addresses
            return told, None
        if result.ok and not self.blamed:
            self.accepted = True
            told, self.held = [*self.held, sent], []
            return told, None
        return [sent], None

    def at_end(self, stopped: bool) -> list[Sent]:
        """What is still held when the run ends: the readers' own when it went to its end unhalted (too few
        domains alike to blame the server); unmarked, their rows given back, when it was stopped."""
        told, self.held = ([] if stopped or self.blamed else self.held), []
        return told

    def refuses_us(self) -> bool:
        """In the same words for readers at SAME_REFUSAL_DOMAINS domains or more: a relay that refuses a
        reader's address says so in words of its own (the address, the domain's server)."""
        return self._alike() and len(self._domains()) >= SAME_REFUSAL_DOMAINS

    def reason(self) -> str:
        _, _, result = self.held[-1]
        return (
            f"refused {len(self.held)} readers at {len(self._domains())} domains alike ({result.code} "
            f"{result.reply}) and took no message: it refuses our mail, not their addresses"
        )

    def _alike(self) -> bool:
        return len({(r.code, r.reply) for _, _, r in self.held}) == 1

    def _domains(self) -> set[str]:
        return {d.email.rpartition("@")[2].lower() for d, _, _ in self.held}
