"""Errors the CLI turns into one line on stderr and exit status 1; each names the problem and the place."""


class NewsletterError(Exception):
    """Base class: an expected failure with a message fit for the user."""


class ConfigError(NewsletterError):
    """A missing, malformed or invalid configuration file, key or value."""


class StoreError(NewsletterError):
    """The database cannot be reached, is not migrated, or refused a change."""


class Conflict(StoreError):
    """Another writer made a row first (a unique key taken): read again, it is there."""


class FeedError(NewsletterError):
    """A feed (file or URL) could not be read or parsed."""


class InputError(NewsletterError):
    """Bad input from the operator: an invalid address, unknown subscriber, bad option value."""


class DeliveryError(NewsletterError):
    """The SMTP server could not be reached or refused the session as a whole."""


class SmtpUnreachable(DeliveryError):
    """No connection to the SMTP server (down, restarting, the network): unlike a refused login or a TLS
    setting that does not fit, it may pass by itself."""


class InboxError(NewsletterError):
    """The IMAP mailbox of returned mail could not be read (connection, TLS, login, folders)."""


class ServeError(NewsletterError):
    """The web server cannot listen on its address: the port is in use, privileged, or the host unknown."""
