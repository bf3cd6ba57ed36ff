"""Delivery: the Mailer protocol and its implementations (SMTP, outbox, null), and the campaign loop."""
