"""CREATE TABLE statements (MySQL, PostgreSQL, SQLite) into a Schema, COMMENTs included.

A request may paste its schema as DDL around the question. Finding the
statements is line-based: a statement starts on a line that begins with
CREATE, ALTER TABLE, COMMENT ON, DROP TABLE or INSERT INTO, and runs until
sqlglot's tokenizer sees a top-level ``;`` (or the parentheses close and the
next line does not continue the statement). Everything else is prose, where
the question is. Each statement is then parsed by sqlglot; column
descriptions come from ``COMMENT '...'`` (MySQL), ``COMMENT ON COLUMN``
(PostgreSQL) or a ``-- comment`` after the column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

from sqlfoundry.core.errors import SqlfoundryError
from sqlfoundry.db.schema import Column, ForeignKey, Schema, Table
from sqlfoundry.sql.parse import dialect_instance, parse_error_messages, tokens_of

DIALECTS = ("mysql", "postgres", "sqlite")

# First words that open a statement, after upper-casing. CREATE must be followed by
# one of _CREATES, so a question such as "Create a list of ..." stays a question.
_STARTS = (
    ("ALTER", "TABLE"),
    ("COMMENT", "ON"),
    ("DROP", "TABLE"),
    ("INSERT", "INTO"),
)
_CREATES = frozenset(
    "TABLE TEMP TEMPORARY UNLOGGED GLOBAL LOCAL OR INDEX UNIQUE VIEW MATERIALIZED SEQUENCE "
    "TYPE SCHEMA EXTENSION VIRTUAL".split()
)
# Words that continue a CREATE TABLE after its closing parenthesis (table options).
_CONTINUES = frozenset(
    "ENGINE DEFAULT CHARSET CHARACTER COLLATE COMMENT AUTO_INCREMENT ROW_FORMAT PARTITION "
    "PARTITIONED WITH WITHOUT TABLESPACE INHERITS USING STRICT ON AS".split()
)


class SchemaTextError(SqlfoundryError):
    """The schema a request carries (DDL or the compact form) cannot be read."""


@dataclass
class SplitText:
    """A request text cut into DDL statements and the prose around them."""

    statements: list[str] = field(default_factory=list)
    prose: list[str] = field(default_factory=list)


def _words(line: str, n: int = 2) -> tuple[str, ...]:
    return tuple(line.strip().upper().split(None, n)[:n])


def starts_statement(line: str) -> bool:
    """Whether ``line`` opens a schema statement (CREATE TABLE, ALTER TABLE, COMMENT ON, ...)."""
    words = _words(line)
    if len(words) == 2 and words[0] == "CREATE":
        return words[1] in _CREATES
    return any(words[: len(start)] == start for start in _STARTS)


def _scan(text: str, dialect: str) -> tuple[bool, int, bool]:
    """(tokenizes, paren depth, ends with a top-level ';') for a statement so far."""
    try:
        tokens = tokens_of(text, dialect)
    except TokenError:
        return False, 0, False
    depth = 0
    for token in tokens:
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
    ended = bool(tokens) and tokens[-1].token_type == TokenType.SEMICOLON and depth <= 0
    return True, depth, ended


def _continues(line: str) -> bool:
    stripped = line.strip()
    if not stripped:
        return False
    if stripped[0] in ");,":
        return True
    first = stripped.split(None, 1)[0].upper().split("=", 1)[0]
    return first in _CONTINUES


def split_ddl(text: str, dialect: str = "auto") -> SplitText:
    """Cut ``text`` into DDL statements and prose lines (code fences dropped)."""
    if dialect == "auto":
        # Backticks quote names only in MySQL; its tokenizer reads the others' DDL too.
        dialect = "mysql" if "`" in text else "postgres"
    lines = [ln for ln in text.split("\n") if not ln.strip().startswith("```")]
    out = SplitText()
    i = 0
    while i < len(lines):
        if not starts_statement(lines[i]):
            out.prose.append(lines[i])
            i += 1
            continue
        buffer = [lines[i]]
        opened = "(" in lines[i]
        i += 1
        while True:
            ok, depth, ended = _scan("\n".join(buffer), dialect)
            if ended or i >= len(lines):
                break
            following = lines[i]
            if ok and depth <= 0:
                # Balanced: the statement is over unless the next line carries on with
                # table options, or it has not opened its column list yet.
                carries_on = _continues(following) or (
                    not opened and following[:1].isspace() and following.strip()
                )
                if starts_statement(following) or not carries_on:
                    break
            buffer.append(following)
            opened = opened or "(" in following
            i += 1
        statement = "\n".join(buffer).strip()
        if _words(statement)[:2] == ("CREATE", "TABLE") and not (
            "(" in statement or ";" in statement
        ):
            # "Create table of sales per month": words, not a column list.
            out.prose.extend(buffer)
        else:
            out.statements.append(statement)
    return out


def guess_dialect(statements: list[str]) -> tuple[str, ...]:
    """The dialects to try, most likely first: backticks mean MySQL."""
    if any("`" in s for s in statements):
        return ("mysql", "postgres", "sqlite")
    return ("postgres", "mysql", "sqlite")


def _parse_statements(statements: list[str], dialect: str) -> list[exp.Expression]:
    trees = []
    for statement in statements:
        parsed = dialect_instance(dialect).parse(statement)
        trees.extend(t for t in parsed if t is not None)
    return trees


def parse_ddl(statements: list[str], dialect: str = "auto", db_id: str = "request") -> Schema:
    """Build a Schema from DDL statements.

    Args:
        statements: statement texts, e.g. from :func:`split_ddl`.
        dialect: ``mysql``, ``postgres``, ``sqlite`` or ``auto`` (tries each, backticks
            suggest MySQL).
        db_id: the Schema's db_id.

    Raises:
        SchemaTextError: no dialect parses the statements, or they define no table.
    """
    candidates = guess_dialect(statements) if dialect == "auto" else (dialect,)
    first_error: str | None = None
    for candidate in candidates:
        try:
            trees = _parse_statements(statements, candidate)
        except (ParseError, TokenError) as err:
            if first_error is None:
                first_error = f"{candidate}: " + "; ".join(parse_error_messages(err))
            continue
        schema = _schema_from(trees, candidate, db_id)
        if not schema.tables:
            raise SchemaTextError("the DDL defines no table with columns")
        return schema
    raise SchemaTextError(f"cannot parse the CREATE TABLE statements ({first_error})")


# ---------------------------------------------------------------- trees -> Schema


def _text(node: exp.Expression | None) -> str | None:
    if node is None:
        return None
    if isinstance(node, exp.Literal):
        return node.this
    return node.name or node.sql()


def _comment(comments: list[str] | None) -> str | None:
    text = " ".join(c.strip() for c in comments or [] if c.strip())
    return text or None


def _names(nodes: list[exp.Expression]) -> list[str]:
    out = []
    for node in nodes:
        if isinstance(node, exp.Ordered):
            node = node.this
        out.append(node.name)
    return out


@dataclass
class _Building:
    table: Table
    # Inline REFERENCES t without columns: resolved to t's primary key at the end.
    pending: list[tuple[str, str]] = field(default_factory=list)


def _reference(ref: exp.Reference) -> tuple[str, list[str]]:
    target = ref.this
    if isinstance(target, exp.Schema):
        return target.this.name, _names(target.expressions)
    return target.name, []


def _add_constraint(building: _Building, node: exp.Expression) -> None:
    table = building.table
    if isinstance(node, exp.Constraint):
        for inner in node.expressions:
            _add_constraint(building, inner)
    elif isinstance(node, exp.PrimaryKey):
        table.primary_key = _names(node.expressions)
    elif isinstance(node, exp.ForeignKey) and node.args.get("reference") is not None:
        ref_table, ref_columns = _reference(node.args["reference"])
        columns = _names(node.expressions)
        if ref_columns:
            table.foreign_keys.append(ForeignKey(columns=columns, ref_table=ref_table,
                                                 ref_columns=ref_columns))  # fmt: skip
        elif len(columns) == 1:
            building.pending.append((columns[0], ref_table))


def _column(building: _Building, node: exp.ColumnDef, dialect: str) -> Column:
    kind = node.args.get("kind")
    column = Column(name=node.name, type=kind.sql(dialect=dialect) if kind is not None else "")
    description = None
    for constraint in node.constraints:
        kind_node = constraint.args.get("kind")
        if isinstance(kind_node, exp.PrimaryKeyColumnConstraint):
            column.primary_key = True
        elif isinstance(kind_node, exp.NotNullColumnConstraint) and not kind_node.args.get(
            "allow_null"
        ):
            column.nullable = False
        elif isinstance(kind_node, exp.CommentColumnConstraint):
            description = _text(kind_node.this)
        elif isinstance(kind_node, exp.Reference):
            ref_table, ref_columns = _reference(kind_node)
            if ref_columns:
                building.table.foreign_keys.append(
                    ForeignKey(
                        columns=[column.name], ref_table=ref_table, ref_columns=ref_columns[:1]
                    )
                )
            else:
                building.pending.append((column.name, ref_table))
    column.description = description or _comment(node.comments)
    return column


def _create_table(node: exp.Create, dialect: str) -> _Building | None:
    target = node.this
    if not isinstance(target, exp.Schema) or not isinstance(target.this, exp.Table):
        return None  # CREATE TABLE ... AS SELECT: no column list to read
    building = _Building(Table(name=target.this.name))
    table = building.table
    for item in target.expressions:
        if isinstance(item, exp.ColumnDef):
            table.columns.append(_column(building, item, dialect))
        else:
            _add_constraint(building, item)
    if not table.primary_key:
        table.primary_key = [c.name for c in table.columns if c.primary_key]
    properties = node.args.get("properties")
    if properties is not None:
        for prop in properties.expressions:
            if isinstance(prop, exp.SchemaCommentProperty):
                table.description = _text(prop.this)
    if table.description is None:
        table.description = _comment(target.comments) or _comment(node.comments)
    return building


def _schema_from(trees: list[exp.Expression], dialect: str, db_id: str) -> Schema:
    tables: dict[str, _Building] = {}
    for tree in trees:
        if isinstance(tree, exp.Create) and (tree.args.get("kind") or "").upper() == "TABLE":
            building = _create_table(tree, dialect)
            if building is not None and building.table.columns:
                tables.setdefault(building.table.name.lower(), building)
    for tree in trees:
        if isinstance(tree, exp.Comment):
            _apply_comment(tables, tree)
        elif isinstance(tree, exp.Alter) and isinstance(tree.this, exp.Table):
            building = tables.get(tree.this.name.lower())
            for action in tree.args.get("actions") or []:
                if building is not None and isinstance(action, exp.AddConstraint):
                    for item in action.expressions:
                        _add_constraint(building, item)
    for building in tables.values():
        for column, ref_table in building.pending:
            target = tables.get(ref_table.lower())
            if target is not None and len(target.table.primary_key) == 1:
                building.table.foreign_keys.append(ForeignKey(
                    columns=[column], ref_table=target.table.name,
                    ref_columns=target.table.primary_key))  # fmt: skip
        for col in building.table.columns:
            col.primary_key = col.name in building.table.primary_key
    return Schema(db_id=db_id, dialect=dialect, tables=[b.table for b in tables.values()])


def _apply_comment(tables: dict[str, _Building], node: exp.Comment) -> None:
    kind = (node.args.get("kind") or "").upper()
    text = _text(node.args.get("expression"))
    target = node.this
    if kind == "TABLE" and isinstance(target, exp.Table):
        building = tables.get(target.name.lower())
        if building is not None:
            building.table.description = text
    elif kind == "COLUMN" and isinstance(target, exp.Column):
        building = tables.get(target.table.lower())
        column = building.table.column(target.name) if building is not None else None
        if column is not None:
            column.description = text
