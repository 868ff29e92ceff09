"""Use cases. Each takes its ports (store, events, mailer, clock) as arguments."""
