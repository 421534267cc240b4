"""An operation's tree (tree.py) as one SQL statement that builds the whole answer in PostgreSQL.

Objects are ``json_build_object`` over the columns they select, lists ``json_agg`` of correlated
subqueries in their order, enums mapped from their codes by ``CASE``, derived values by the templates
of schema/sources.py. Persons are read in scopes (CTEs): the root's person or page, then each household
read from a scope; the persons every scope shows are the persons the answer touches, and those whose
number it carries the numbers it reveals. With the audit trail on, a last CTE appends the request's
entry (``audit_append_linked`` with the content hashed by ``audit_content_hash``, migrations 0010 and
0008) with those ids, so the answer and its record are one statement.

Arguments, variables and the request date are bound parameters; a statement is compiled once per plan
and shape (which optional conditions of a persons filter are given) and prepared once per connection.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    LargeBinary,
    String,
    Text,
    case,
    cast,
    func,
    literal_column,
    null,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSON, aggregate_order_by, distinct_on
from sqlalchemy.dialects.postgresql.asyncpg import dialect as AsyncpgDialect
from sqlalchemy.sql.expression import bindparam

from ..persons import CURSOR_PREFIX, PARAMETER_TYPES, page_statement, person_conditions
from ..sources import Columns, StatementEnv, bind_type, order_by, table_named
from .tree import (
    Column,
    Const,
    Declined,
    Embedded,
    Expression,
    Gated,
    Number,
    Obj,
    Operation,
    Param,
    Related,
    Root,
)

__all__ = ["AUDIT_PARAMETERS", "Compiled", "compile_persons_objects", "compile_statement"]

TODAY: Final = "today"
AUDIT_PARAMETERS: Final = {
    "a_occurred_at": DateTime(timezone=True),
    "a_subject": String(),
    "a_roles": ARRAY(String()),
    "a_department": String(),
    "a_operation_name": String(),
    "a_document_id": String(),
    "a_trace_id": String(),
}
_DIALECT = AsyncpgDialect()
_EMPTY_LIST = literal_column("'[]'::json", JSON)
_NO_IDS = literal_column("'{}'::bigint[]", ARRAY(BigInteger))


def text(value: str) -> Any:
    """A constant text in the statement itself (keys, enum names): fixed, so not a parameter."""
    return literal_column("'" + value.replace("'", "''") + "'", Text)


@dataclass(frozen=True)
class Compiled:
    """A statement ready for asyncpg: its text and, per position, a request parameter's name or a
    constant's value."""

    sql: str
    positions: tuple[tuple[str, Any], ...]  # (name, constant or None)
    parameters: frozenset[str]  # names the request binds


@dataclass
class _Scope:
    """Persons shown from one CTE: those ``visible`` (a page's extra row is not)."""

    cte: Any
    visible: Any  # a condition on the CTE, or None
    reveals: bool = False


@dataclass
class _Level:
    """Rows read many at once (a page, and under it every relation's rows): how to list a column of its
    rows for the page (``rows``: a fresh alias, its columns, its conditions), and the grouped subqueries
    joined to it."""

    rows: Callable[[], tuple[Any, Columns, list[Any]]]
    joins: list[tuple[Any, Any]] = field(default_factory=list)

    def values(self, column: str) -> Any:
        """``SELECT <column> FROM <this level's rows of the page>`` (a derived column too)."""
        alias, columns, conditions = self.rows()
        return select(getattr(columns, column)).select_from(alias).where(*conditions)

    def joined(self, base: Any) -> Any:
        for group, condition in self.joins:
            base = base.outerjoin(group, condition)
        return base


@dataclass
class _Build:
    operation: Operation
    shapes: Sequence[Any]
    env: StatementEnv = field(default_factory=lambda: StatementEnv(bindparam(TODAY, type_=Date)))
    scopes: list[_Scope] = field(default_factory=list)
    names: set[str] = field(default_factory=set)

    def param(self, name: str, type_: Any) -> Any:
        self.names.add(name)
        return bindparam(name, type_=type_)

    # --- objects -------------------------------------------------------------------------------

    def obj(self, obj: Obj, row: Columns, scope: _Scope | _Level | None) -> Any:
        pairs: list[Any] = []
        for key, node in obj.fields:
            pairs += [text(key), self.value(node, row, scope)]
        return func.json_build_object(*pairs, type_=JSON)

    def value(self, node: Any, row: Columns, scope: _Scope | _Level | None, gate: Any = None) -> Any:
        if isinstance(node, Column):
            return _enum(_text(getattr(row, node.name), node.text), node.enum)
        if isinstance(node, Expression):
            return _enum(node.sql(row, self.env), node.enum)
        if isinstance(node, Const):
            return text(node.value)
        if isinstance(node, Number):
            blob = getattr(row, node.column)
            pair = func.json_build_array(
                func.encode(blob, text("hex")), getattr(row, node.context), type_=JSON
            )
            return case((blob.is_(None), null()), else_=pair)
        if isinstance(node, Embedded):
            built = self.obj(node.obj, row, scope)
            conditions = [getattr(row, n).is_not(None) for n in node.all_of]
            if node.any_of:
                conditions.append(or_(*[getattr(row, n).is_not(None) for n in node.any_of]))
            if not conditions:
                return built
            return case((_all(conditions), built), else_=null())
        if isinstance(node, Related):
            if isinstance(scope, _Level):
                return self.grouped(node, row, scope, gate)
            return self.related(node, row, scope)
        if isinstance(node, Param):
            return self.param(f"x_{node.name}", JSON())
        if isinstance(node, Gated):
            covered = self.param(f"item_{node.item}", Boolean())
            return case((covered, self.value(node.node, row, scope, covered)), else_=null())
        raise Declined("an unknown node")

    def grouped(self, node: Related, row: Columns, level: _Level, gate: Any) -> Any:
        """A relation of many rows of the level at once (a page of persons): the children of every row of
        the level grouped by their key in one subquery, joined to the level — one pass over the child
        table instead of one subquery per row."""
        relation = node.relation
        source = relation.source
        if node.audited:
            raise Declined("persons under a page of what is sent")
        child_table = table_named(relation.table.name).alias()
        child = Columns(child_table, relation.table, self.env)
        params = self.params_of(node) if source.where is not None else None

        def rows() -> tuple[Any, Columns, list[Any]]:
            """This child level's rows for the page: a fresh alias, its conditions."""
            alias = table_named(relation.table.name).alias()
            columns = Columns(alias, relation.table, self.env)
            found = [getattr(columns, source.key).in_(level.values(source.parent))]
            if source.where is not None:
                found += source.where(columns, self.env, params)
            return alias, columns, found

        conditions = [getattr(child, source.key).in_(level.values(source.parent))]
        if source.where is not None:
            conditions += source.where(child, self.env, params)
        if gate is not None:
            conditions.append(gate)  # an item the answer does not cover is not read at all
        child_level = _Level(rows)
        built = self.obj(node.obj, child, child_level)
        key = getattr(child, source.key)
        ordering = order_by(child, source.order_by)
        joined = child_level.joined(child_table)
        if relation.many:
            aggregate = func.json_agg(aggregate_order_by(built, *ordering) if ordering else built, type_=JSON)
            found = (
                select(key.label("k"), aggregate.label("j"))
                .select_from(joined)
                .where(*conditions)
                .group_by(key)
            )
        else:
            found = (
                select(key.label("k"), built.label("j"))
                .select_from(joined)
                .where(*conditions)
                .ext(distinct_on(key))
                .order_by(key, *ordering)
            )
        group = found.subquery()
        level.joins.append((group, group.c.k == getattr(row, source.parent)))
        return func.coalesce(group.c.j, _EMPTY_LIST) if relation.many else group.c.j

    def related(self, node: Related, row: Columns, scope: _Scope | None) -> Any:
        relation = node.relation
        source = relation.source
        parent_value = getattr(row, source.parent)
        if node.audited:
            if not isinstance(scope, _Scope):
                raise Declined("persons under an object that is not a person")
            child_scope = self.scope_of(node, scope)
            child_table = child_scope.cte
        else:
            child_table = table_named(relation.table.name).alias()
        child = Columns(child_table, relation.table, self.env)
        conditions = [getattr(child, source.key) == parent_value]
        if source.where is not None and not node.audited:
            conditions += source.where(child, self.env, self.params_of(node))
        built = self.obj(node.obj, child, child_scope if node.audited else None)
        ordering = order_by(child, source.order_by)
        if relation.many:
            aggregate = func.json_agg(aggregate_order_by(built, *ordering) if ordering else built, type_=JSON)
            return (
                select(func.coalesce(aggregate, _EMPTY_LIST))
                .select_from(child_table)
                .where(*conditions)
                .scalar_subquery()
            )
        return (
            select(built)
            .select_from(child_table)
            .where(*conditions)
            .order_by(*ordering)
            .limit(1)
            .scalar_subquery()
        )

    def params_of(self, node: Related) -> Any:
        params = {
            name: self.param(f"n{node.index}_{name}", bind_type(kind))
            for name, kind in node.relation.source.params.items()
        }
        return _Params(params)

    # --- persons -------------------------------------------------------------------------------

    def person_columns(self, objs: Sequence[Obj], *extra: str) -> list[Any]:
        persons = table_named("persons")
        names: set[str] = {"id", *extra}
        for obj in objs:
            needed = obj.needs()
            if needed is None:
                return list(persons.c)
            names |= needed
        for obj in objs:
            for _, node in _walk_related(obj):
                names.add(node.relation.source.parent)
        return [persons.c[n] for n in sorted(names)]

    def scope_of(self, node: Related, parent: _Scope) -> _Scope:
        relation = node.relation
        source = relation.source
        persons = table_named("persons").alias()
        order_columns = [item.partition(" ")[0] for item in source.order_by]
        selected = [persons.c[c.name] for c in self.person_columns([node.obj], source.key, *order_columns)]
        parents = select(parent.cte.c[source.parent])
        if parent.visible is not None:
            parents = parents.where(parent.visible)
        conditions = [persons.c[source.key].in_(parents)]
        if source.where is not None:
            conditions += source.where(
                Columns(persons, relation.table, self.env), self.env, self.params_of(node)
            )
        cte = select(*selected).where(*conditions).cte(f"s{len(self.scopes)}")
        scope = _Scope(cte, None, node.obj.numbers())
        self.scopes.append(scope)
        return scope

    def root(self, index: int, root: Root, shape: Any) -> Any:
        if root.kind == "typename":
            return text("Query")
        persons = table_named("persons")
        if root.kind in ("person", "by_number"):
            assert root.obj is not None
            if root.kind == "person":
                condition = persons.c.id == self.param(f"r{index}_id", BigInteger())
            else:
                condition = persons.c.individual_number_index == self.param(f"r{index}_index", LargeBinary())
            cte = select(*self.person_columns([root.obj])).where(condition).cte(f"s{len(self.scopes)}")
            scope = _Scope(cte, None, root.obj.numbers())
            self.scopes.append(scope)
            built = self.obj(root.obj, Columns(cte, _persons_source(), self.env), scope)
            return select(built).select_from(cte).scalar_subquery()
        return self.page(index, root, shape)

    def page(self, index: int, root: Root, shape: frozenset[str]) -> Any:
        objs = [part for _, (kind, part) in root.connection if kind == "nodes"]
        objs += [
            p for _, (kind, parts) in root.connection if kind == "edges" for _, (k, p) in parts if k == "node"
        ]
        v = _Placeholders(self, f"r{index}_")
        selected = self.person_columns(objs, "name_kana")
        page = page_statement(shape, v, selected).subquery()
        ranked = select(
            page, func.row_number().over(order_by=(page.c.name_kana, page.c.id)).label("page_rank")
        ).cte(f"s{len(self.scopes)}")
        first = v.first
        scope = _Scope(ranked, ranked.c.page_rank <= first, any(o.numbers() for o in objs))
        self.scopes.append(scope)
        row = Columns(ranked, _persons_source(), self.env)
        cursor = _cursor(ranked.c.id)

        def listed(value: Any) -> Any:
            aggregate = func.json_agg(aggregate_order_by(value, ranked.c.page_rank), type_=JSON)
            return (
                select(func.coalesce(aggregate, _EMPTY_LIST))
                .select_from(ranked)
                .where(scope.visible)
                .scalar_subquery()
            )

        pairs: list[Any] = []
        for key, (kind, part) in root.connection:
            if kind == "__typename":
                value = text(part)
            elif kind == "totalCount":
                conditions = person_conditions(shape, v)
                value = (
                    select(func.count())
                    .select_from(table_named("persons"))
                    .where(*conditions)
                    .scalar_subquery()
                )
            elif kind == "nodes":
                value = listed(self.obj(part, row, scope))
            elif kind == "edges":
                edge: list[Any] = []
                for edge_key, (edge_kind, edge_part) in part:
                    edge.append(text(edge_key))
                    if edge_kind == "cursor":
                        edge.append(cursor)
                    elif edge_kind == "__typename":
                        edge.append(text(edge_part))
                    else:
                        edge.append(self.obj(edge_part, row, scope))
                value = listed(func.json_build_object(*edge, type_=JSON))
            else:  # pageInfo
                value = self.page_info(part, ranked, first, "after" in shape)
            pairs += [text(key), value]
        return func.json_build_object(*pairs, type_=JSON)

    def page_info(self, wanted: Sequence[tuple[str, str]], ranked: Any, first: Any, after: bool) -> Any:
        pairs: list[Any] = []
        value: Any
        for key, name in wanted:
            if name == "hasNextPage":
                value = select(func.count() > first).select_from(ranked).scalar_subquery()
            elif name == "hasPreviousPage":
                value = true() if after else literal_column("false", Boolean)
            elif name == "startCursor":
                value = select(_cursor(ranked.c.id)).where(ranked.c.page_rank == 1).scalar_subquery()
            elif name == "endCursor":
                last = (
                    select(ranked.c.id)
                    .where(ranked.c.page_rank <= first)
                    .order_by(ranked.c.page_rank.desc())
                    .limit(1)
                )
                value = _cursor(last.scalar_subquery())
            else:
                value = text("PageInfo")
            pairs += [text(key), value]
        return func.json_build_object(*pairs, type_=JSON)

    # --- the statement -------------------------------------------------------------------------

    def statement(self, audited: bool, durable: bool = True) -> Any:
        pairs: list[Any] = []
        for index, (root, shape) in enumerate(zip(self.operation.roots, self.shapes, strict=True)):
            pairs += [text(root.key), self.root(index, root, shape)]
        data = func.json_build_object(*pairs, type_=JSON)
        touched = self.ids(lambda scope: scope.visible)
        revealed = self.ids(lambda scope: _revealing(scope) if scope.reveals else False)
        t = select(touched.label("touched"), revealed.label("revealed")).cte("t")
        if not audited:
            return select(data.label("data"), t.c.touched, t.c.revealed, null().label("seq"))
        p = {name: self.param(name, type_) for name, type_ in AUDIT_PARAMETERS.items()}
        # The entry's fields as AuditEntry.row() stores them: the ids sorted and distinct (``ids``), the
        # revealed among the touched, the roles sorted by the caller, no decision, no error. Its content
        # is hashed by the database as the server hashes it (audit_content_hash, migration 0008) and
        # appended through the chain's lock (audit_append_linked, 0010), which answers with the link.
        fields: tuple[Any, ...] = (
            p["a_occurred_at"],
            p["a_subject"],
            p["a_roles"],
            p["a_department"],
            text("query"),
            p["a_operation_name"],
            p["a_document_id"],
            t.c.touched,
            t.c.revealed,
            literal_column("'[]'::jsonb"),
            text("ok"),
            literal_column("'{}'::text[]"),
            p["a_trace_id"],
        )
        entry = func.audit_append_linked(*fields, func.audit_content_hash(*fields)).table_valued(
            "seq", "chain", "link", "prev_hash", "hash"
        )
        columns = [entry.c.seq, entry.c.chain, entry.c.link, entry.c.prev_hash, entry.c.hash]
        if not durable:
            # KAIGO_AUDIT_READ_COMMIT=async: this transaction's commit does not wait for its WAL to reach
            # the disk (set for the transaction only, read at its commit; api/audit.py says what it risks)
            columns.append(func.set_config("synchronous_commit", "off", true()).label("commit"))
        linked = select(*columns)
        # an answer about no one is no entry: the append is reached only past this condition
        a = linked.select_from(t).join(entry, true()).where(func.cardinality(t.c.touched) > 0).cte("a")
        return (
            select(
                data.label("data"),
                t.c.touched,
                t.c.revealed,
                a.c.seq,
                a.c.chain,
                a.c.link,
                a.c.prev_hash,
                a.c.hash,
            )
            .select_from(t)
            .outerjoin(a, true())
        )

    def ids(self, condition: Any) -> Any:
        """The sorted distinct ids the scopes show (under ``condition`` per scope) as an array."""
        parts = []
        for scope in self.scopes:
            extra = condition(scope)
            if extra is False:
                continue
            part = select(scope.cte.c.id.label("id"))
            parts.append(part.where(extra) if extra is not None else part)
        if not parts:
            return _NO_IDS
        found = union(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
        aggregate = func.array_agg(aggregate_order_by(found.c.id, found.c.id), type_=ARRAY(BigInteger))
        return select(func.coalesce(aggregate, _NO_IDS)).select_from(found).scalar_subquery()


class _Params:
    def __init__(self, binds: dict[str, Any]) -> None:
        self._binds = binds

    def __getattr__(self, name: str) -> Any:
        try:
            return self._binds[name]
        except KeyError:
            raise AttributeError(name) from None


class _Placeholders:
    """A persons root's parameters (resolvers/persons.py PARAMETER_TYPES), named per root."""

    def __init__(self, build: _Build, prefix: str) -> None:
        self._build = build
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        if name == "today":
            return self._build.env.today
        return self._build.param(self._prefix + name, PARAMETER_TYPES[name])


def _persons_source() -> Any:
    from schema.persons import Person

    return Person.__kaigo_table__  # type: ignore[attr-defined]


def _walk_related(obj: Obj) -> list[tuple[str, Related]]:
    found: list[tuple[str, Related]] = []
    for key, node in obj.fields:
        if isinstance(node, Related):
            found.append((key, node))
        elif isinstance(node, Embedded):
            found += _walk_related(node.obj)
    return found


def _revealing(scope: _Scope) -> Any:
    """The persons of a scope whose number the answer carries (shown, and a number stored)."""
    stored = scope.cte.c.individual_number_enc.is_not(None)
    return stored if scope.visible is None else _all([scope.visible, stored])


def _all(conditions: list[Any]) -> Any:
    from sqlalchemy import and_

    return and_(*conditions) if len(conditions) > 1 else conditions[0]


def _text(column: Any, as_text: bool) -> Any:
    return cast(column, Text) if as_text else column


def _enum(value: Any, names: Any) -> Any:
    if names is None:
        return value
    return case(*[(value == text(code), text(name)) for code, name in names.items()], else_=null())


def _cursor(person_id: Any) -> Any:
    """``resolvers.persons.encode_cursor`` in SQL: base64url of ``person:<id>``, no padding."""
    raw = func.encode(
        func.convert_to(text(CURSOR_PREFIX) + cast(person_id, Text), text("UTF8")), text("base64")
    )
    return func.rtrim(func.translate(raw, text("+/"), text("-_")), text("="))


def compile_statement(
    operation: Operation, shapes: Sequence[Any], *, audited: bool, durable: bool = True
) -> Compiled:
    """The statement of ``operation`` for these root shapes (one per root: a persons root's given
    parameters, else None)."""
    build = _Build(operation, shapes)
    return _compiled(build.statement(audited, durable), build)


def compile_persons_objects(obj: Obj) -> Compiled:
    """One object per person of ``:ids``, in their order, as one JSON array: a transfer page
    (resolvers/planner/payloads.py). Each relation is read for the whole page at once, grouped by its
    key. Parameters: ``ids``, ``today``, and the object's own (items covered, the request's values)."""
    build = _Build(Operation(None, None, ()), ())  # type: ignore[arg-type]
    assert obj.table is not None
    table = obj.table
    ids_param = build.param("ids", ARRAY(BigInteger()))
    ids = func.unnest(ids_param).table_valued("id", with_ordinality="ord").render_derived()
    persons = table_named("persons").alias("p")

    def rows() -> tuple[Any, Columns, list[Any]]:
        alias = table_named("persons").alias()
        return alias, Columns(alias, table, build.env), [alias.c.id == func.any(ids_param)]

    top = _Level(rows)
    built = build.obj(obj, Columns(persons, table, build.env), top)
    aggregate = func.json_agg(aggregate_order_by(built, ids.c.ord), type_=JSON)
    joined = top.joined(ids.join(persons, persons.c.id == ids.c.id))
    statement = select(cast(func.coalesce(aggregate, _EMPTY_LIST), Text)).select_from(joined)
    return _compiled(statement, build)


def _compiled(statement: Any, build: _Build) -> Compiled:
    compiled = statement.compile(dialect=_DIALECT)
    positions = []
    for name in compiled.positiontup or ():
        if name in build.names or name == TODAY:
            positions.append((name, None))
        else:
            positions.append((name, compiled.binds[name].effective_value))
    return Compiled(compiled.string, tuple(positions), frozenset(build.names | {TODAY}))
