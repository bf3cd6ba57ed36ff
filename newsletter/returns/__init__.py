"""Mail that comes back: reports read, acted on when they prove they answer our mail, the inbox, limits."""
