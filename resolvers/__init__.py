"""Root fields, DataLoaders and the SQL behind them (resolvers → schema, persistence, policies)."""

from .build import KaigoSchema, build_schema, schema_for
from .context import Context, build_context

__all__ = ["Context", "KaigoSchema", "build_context", "build_schema", "schema_for"]
