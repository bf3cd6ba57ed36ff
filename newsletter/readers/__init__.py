"""Readers: their preferences declared once, subscriptions, sign-ups, and the files operators move them with."""
