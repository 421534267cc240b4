"""The per-request DataLoaders of strawberry's executor (implements ``schema.context.Loaders``).

One loader per relation field and argument values, made on first use: each batch runs the relation's
statement (resolvers/sources.py, built once per process from the declarations of schema/sources.py)
for every parent the batch asks about, and groups the rows in Python. A page of persons with every
nested area so costs the same number of statements whatever its size: one per relation read.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import BigInteger, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from strawberry.dataloader import DataLoader
from strawberry.types.field import StrawberryField

from persistence.db import SerialSession
from schema.persons import Person

from .audit import AuditCollector
from .sources import (
    KEYS,
    TODAY,
    Columns,
    Relation,
    StatementEnv,
    definition,
    relation_of,
    shape_of,
    table_named,
)

__all__ = ["Loaders", "person_statement"]


@cache
def person_statement() -> Any:
    """Persons by id (``:keys``): the columns a Person reads, nothing else."""
    shape = shape_of(Person)
    persons = table_named("persons")
    columns = Columns(persons, Person.__kaigo_table__, StatementEnv(bindparam(TODAY)))  # type: ignore[attr-defined]
    condition = persons.c.id == any_(bindparam(KEYS, type_=ARRAY(BigInteger)))
    return select(*shape.select_list(columns, persons)).where(condition)


class Loaders:
    """One instance per request: DataLoaders cache per key, and a cache must not outlive its request.

    ``on_create`` lets the tracing wrap each loader as it is made (named after its field)."""

    def __init__(self, db: SerialSession, *, audit: AuditCollector | None = None, today: dt.date) -> None:
        self._db = db
        self._today = today
        # Every Person a loader produces is reported to the audit trail (persons touched).
        self._seen = audit if audit is not None else AuditCollector()
        self._relations: dict[tuple[StrawberryField, Hashable], DataLoader[Any, Any]] = {}
        self._person: DataLoader[int, Person | None] | None = None
        self.on_create: Callable[[str, DataLoader[Any, Any]], None] | None = None

    @property
    def person(self) -> DataLoader[int, Person | None]:
        if self._person is None:
            self._person = self._made("person", DataLoader(load_fn=self._persons_by_id))
        return self._person

    async def related(self, field: StrawberryField, root: Any, arguments: Mapping[str, Any]) -> Any:
        loader = self._loader_for(field, arguments)
        return await loader.load(root._row[relation_of(field).source.parent])

    def _loader_for(self, field: StrawberryField, arguments: Mapping[str, Any]) -> DataLoader[Any, Any]:
        """The request's loader of ``field`` for these argument values (checked: BadUserInput)."""
        relation = relation_of(field)
        values = dict(relation.source.arguments(arguments)) if relation.source.arguments else {}
        key = (field, tuple(sorted(values.items())))
        loader = self._relations.get(key)
        if loader is None:
            loader = self._relations[key] = self._made(relation.name, self._loader(relation, values))
        return loader

    async def many(
        self, cls: type, name: str, parents: Sequence[Any], arguments: Mapping[str, Any] | None = None
    ) -> list[Any]:
        """The relation ``cls.name`` for each parent key value (the same loader as the field's)."""
        field = next(f for f in definition(cls).fields if f.python_name == name)
        return list(await self._loader_for(field, arguments or {}).load_many(parents))

    def made(self) -> dict[str, DataLoader[Any, Any]]:
        """The loaders this request has made so far, by name."""
        made = {f"{field.python_name}": loader for (field, _), loader in self._relations.items()}
        if self._person is not None:
            made["person"] = self._person
        return made

    def _made(self, name: str, loader: DataLoader[Any, Any]) -> DataLoader[Any, Any]:
        if self.on_create is not None:
            self.on_create(name, loader)
        return loader

    def _loader(self, relation: Relation, values: Mapping[str, Any]) -> DataLoader[Any, Any]:
        db, seen, today = self._db, self._seen, self._today
        params = {f"p_{name}": value for name, value in values.items()}
        build = relation.shape.build
        audited = relation.audited

        async def load(keys: list[Any]) -> list[Any]:
            rows = await db.execute(
                relation.statement, {KEYS: list(dict.fromkeys(keys)), TODAY: today, **params}
            )
            groups: defaultdict[Any, list[Any]] = defaultdict(list)
            for row in rows:
                mapping = row._mapping
                built = build(mapping)
                if audited:
                    seen.saw(built)
                groups[mapping["__key"]].append(built)
            if relation.many:
                return [groups.get(k, []) for k in keys]
            return [found[0] if (found := groups.get(k)) else None for k in keys]

        return DataLoader(load_fn=load)

    async def _persons_by_id(self, keys: list[int]) -> list[Person | None]:
        rows = await self._db.execute(
            person_statement(), {KEYS: list(dict.fromkeys(keys)), TODAY: self._today}
        )
        build = shape_of(Person).build
        found = {row.id: self._seen.saw(build(row._mapping)) for row in rows}
        return [found.get(k) for k in keys]
