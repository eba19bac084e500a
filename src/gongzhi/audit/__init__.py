"""Audit events: who did what to which object, old -> new, why, when."""
