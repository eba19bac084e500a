"""Notifications: a transactional outbox delivered after commit (in-app, SMS gateway)."""
