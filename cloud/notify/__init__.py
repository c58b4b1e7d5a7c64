"""Alert notifications: the outbox (``notifications`` rows), recipients' preferences,
the channels (webhook, e-mail, SMS) and the worker that delivers them."""
