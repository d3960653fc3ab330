"""The state store: SQLite by default, PostgreSQL by URL."""
