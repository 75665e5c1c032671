"""Alembic environment: runs on the connection that ``service.database.session.migrate`` passes."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from service.database.models import Base

config = context.config
connection = config.attributes.get("connection")

if connection is None:
    # `alembic` run by hand: take the URL from the command line's -x url=... option.
    url = context.get_x_argument(as_dictionary=True).get("url", "sqlite:///var/benchdocs.sqlite3")
    with create_engine(url).connect() as own_connection:
        context.configure(connection=own_connection, target_metadata=Base.metadata)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
