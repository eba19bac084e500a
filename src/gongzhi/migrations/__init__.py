"""One Alembic tree for every domain."""
