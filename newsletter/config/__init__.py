"""Settings: defaults < TOML file < NEWSLETTER_* environment < CLI flags; the only package that reads os.environ.

sections.py holds the settings tree, load.py layers the file and the environment onto it (merge.py checks
each key and type), validate.py says what a value must be, initial.py writes `newsletter init`'s file.
"""

from newsletter.config.initial import write_initial
from newsletter.config.load import load_settings
from newsletter.config.sections import (
    ArxivSourceSettings,
    DatabaseSettings,
    DigestSettings,
    DkimSettings,
    HfSourceSettings,
    InboxSettings,
    IngestSettings,
    PathSettings,
    ScheduleSettings,
    SenderSettings,
    Settings,
    SmtpSettings,
    SourcesSettings,
    WebSettings,
)
from newsletter.config.validate import TOKEN_LENGTH, example_values, readable_secrets, require_secret_key
from newsletter.config.values import hour_minute, is_timezone, rate_interval

__all__ = [
    "TOKEN_LENGTH",
    "ArxivSourceSettings",
    "DatabaseSettings",
    "DigestSettings",
    "DkimSettings",
    "HfSourceSettings",
    "InboxSettings",
    "IngestSettings",
    "PathSettings",
    "ScheduleSettings",
    "SenderSettings",
    "Settings",
    "SmtpSettings",
    "SourcesSettings",
    "WebSettings",
    "example_values",
    "hour_minute",
    "is_timezone",
    "load_settings",
    "rate_interval",
    "readable_secrets",
    "require_secret_key",
    "write_initial",
]
