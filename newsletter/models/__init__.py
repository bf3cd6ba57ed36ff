"""Frozen values passed between the stages, a module per subject: papers, readers, digests, delivery."""

from newsletter.models.delivery import FINAL_STATES, Delivery, DeliveryState, Outcome, Outgoing, SendResult
from newsletter.models.digests import Digest, Pick, Why
from newsletter.models.papers import IngestResult, Paper, Validators, merge_papers
from newsletter.models.readers import (
    STOPPED,
    WEEKDAYS,
    Consent,
    Frequency,
    Preferences,
    Status,
    Subscriber,
    SubscriberChanges,
    Suppression,
)

__all__ = [
    "FINAL_STATES",
    "STOPPED",
    "WEEKDAYS",
    "Consent",
    "Delivery",
    "DeliveryState",
    "Digest",
    "Frequency",
    "IngestResult",
    "Outcome",
    "Outgoing",
    "Paper",
    "Pick",
    "Preferences",
    "SendResult",
    "Status",
    "Subscriber",
    "SubscriberChanges",
    "Suppression",
    "Validators",
    "Why",
    "merge_papers",
]
