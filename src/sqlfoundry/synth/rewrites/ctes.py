"""Common table expressions: pull a subquery or a filtered table out into a WITH
clause, or inline a CTE used once."""

from __future__ import annotations

from sqlglot import exp

from sqlfoundry.synth.rewrites.base import (
    SchemaFacts,
    cte_names,
    defined_names,
    fresh_name,
    has_query,
    is_inner,
    qualifiers,
    requalify,
    set_where,
    simple_table,
    source_name,
    sources,
    where_parts,
)


def _taken(tree: exp.Expression) -> set[str]:
    names = set(cte_names(tree))
    for select in tree.find_all(exp.Select):
        names |= defined_names(select)
    names |= {c.name.lower() for c in tree.find_all(exp.Column)}
    return names


def _add_cte(root: exp.Select, name: str, query: exp.Expression) -> None:
    cte = exp.CTE(this=query, alias=exp.TableAlias(this=exp.to_identifier(name)))
    existing = root.args.get("with_")
    if existing is not None:
        existing.set("expressions", [*existing.expressions, cte])
    else:
        root.set("with_", exp.With(expressions=[cte]))


def _uncorrelated(query: exp.Select, facts: SchemaFacts | None) -> bool:
    inside = {source_name(s) for sel in query.find_all(exp.Select) for s in sources(sel)}
    inside |= {t.name.lower() for t in query.find_all(exp.Table)}
    if qualifiers(query) - inside:
        return False
    if facts is None:
        return True
    tables = [t.name for t in query.find_all(exp.Table)]
    return all(
        any(facts.has_column(t, c.name) for t in tables)
        for c in query.find_all(exp.Column)
        if not c.table and not isinstance(c.this, exp.Star)
    )


def _main_table(query: exp.Select) -> str:
    srcs = sources(query)
    return srcs[0].name.lower() if srcs and simple_table(srcs[0]) else "sub"


def _output_name(item: exp.Expression) -> str | None:
    if isinstance(item, exp.Alias):
        return item.alias
    if isinstance(item, exp.Column) and not isinstance(item.this, exp.Star):
        return item.name
    return None


def _scalar_alias(item: exp.Expression) -> str:
    """``AVG(age)`` -> ``avg_age``; anything else -> ``value``."""
    if isinstance(item, exp.AggFunc) and isinstance(item.this, exp.Column):
        return f"{item.key}_{item.this.name}".lower()
    return "value"


def extract_cte(tree: exp.Expression, facts: SchemaFacts | None = None):
    """Move the outermost query's first uncorrelated subquery into ``WITH``: an IN
    subquery, a scalar subquery in a comparison, or a derived table."""
    if not isinstance(tree, exp.Select):
        return None
    out = tree.copy()
    taken = _taken(out)
    candidates = [q for q in out.find_all(exp.Subquery) if q.find_ancestor(exp.Select) is out]
    for sub in candidates:
        query = sub.this
        if not isinstance(query, exp.Select) or query.args.get("with_"):
            continue
        if not _uncorrelated(query, facts):
            continue
        table = _main_table(query)
        parent = sub.parent
        if isinstance(parent, (exp.From, exp.Join)):
            if not sub.alias:
                continue
            suffix = "summary" if query.args.get("group") else "subset"
            name = fresh_name(f"{table}_{suffix}", taken)
            _add_cte(out, name, query.copy())
            sub.replace(exp.Table(this=exp.to_identifier(name), alias=exp.TableAlias(
                this=exp.to_identifier(sub.alias))))  # fmt: skip
            return out
        if len(query.expressions) != 1:
            continue
        item = query.expressions[0]
        body = query.copy()
        if isinstance(parent, exp.In) and sub.arg_key == "query":
            name = fresh_name(f"{table}_subset", taken)
        elif isinstance(parent, (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)):
            name = fresh_name(f"{table}_stats", taken)
        else:
            continue
        column = _output_name(item)
        if column is None:
            column = _scalar_alias(item)
            body.set("expressions", [exp.alias_(item.copy(), column)])
        _add_cte(out, name, body)
        reader = exp.Select(expressions=[exp.column(column)]).from_(name)
        sub.set("this", reader)
        return out
    return None


_SMALL_WORDS = frozenset({"a", "an", "the", "of", "in", "on", "and", "or", "for", "to", "at"})


def _filter_value(parts: list[exp.Expression]) -> str | None:
    """A short word from a single ``col = 'Value'`` filter, for the CTE's name."""
    values = [
        p.expression.this
        for p in parts
        if isinstance(p, exp.EQ)
        and isinstance(p.expression, exp.Literal)
        and p.expression.is_string
    ]
    if len(values) != 1 or not 0 < len(values[0]) <= 20:
        return None
    kept = [w for w in values[0].lower().split() if w not in _SMALL_WORDS][:2]
    slug = "_".join("".join(ch for ch in w if ch.isalnum()) for w in kept)
    return slug if slug and slug.replace("_", "").isalnum() and slug.isascii() else None


def filter_to_cte(tree: exp.Expression, facts: SchemaFacts | None = None):
    """``SELECT ... FROM singer WHERE country = 'France'`` -> ``WITH singer_france AS
    (SELECT * FROM singer WHERE country = 'France') SELECT ... FROM singer_france``:
    a table's own filters move into a CTE (inner joins only)."""
    if not isinstance(tree, exp.Select) or tree.args.get("with_"):
        return None
    joins = tree.args.get("joins") or []
    if not all(is_inner(j) for j in joins):
        return None
    srcs = sources(tree)
    names = [source_name(s) for s in srcs]
    if len(set(names)) != len(names):
        return None
    parts = where_parts(tree)
    for source, name in zip(srcs, names, strict=True):
        if not simple_table(source):
            continue
        if len(srcs) == 1:
            mine = [p for p in parts if qualifiers(p) <= {name} and not has_query(p)]
        else:
            mine = [p for p in parts if qualifiers(p) == {name} and not has_query(p)
                    and all(c.table for c in p.find_all(exp.Column))]  # fmt: skip
        if not mine:
            continue
        out = tree.copy()
        kept = _same(out, tree, [p for p in parts if not any(p is m for m in mine)])
        value = _filter_value(mine)
        cte_name = fresh_name(
            f"{source.name}_{value}".lower() if value else f"filtered_{source.name}".lower(),
            _taken(out),
        )
        body = exp.Select(expressions=[exp.Star()]).from_(
            exp.Table(this=exp.to_identifier(source.name))
        )
        set_where(body, [requalify(p.copy(), name, None) for p in mine])
        target = sources(out)[names.index(name)]
        qualified_by_name = not source.alias and any(
            c.table.lower() == name for c in out.find_all(exp.Column) if c.table
        )
        alias = source.alias or (source.name if qualified_by_name else None)
        replacement = exp.Table(this=exp.to_identifier(cte_name))
        if alias:
            replacement.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
        target.replace(replacement)
        set_where(out, [k.copy() for k in kept])
        _add_cte(out, cte_name, body)
        return out
    return None


def _same(new_tree, old_tree, nodes):
    """Nodes of ``old_tree`` -> the matching nodes of its copy ``new_tree``."""
    index = {id(n): i for i, n in enumerate(old_tree.walk())}
    new_nodes = list(new_tree.walk())
    return [new_nodes[index[id(n)]] for n in nodes]


def inline_cte(tree: exp.Expression, facts: SchemaFacts | None = None):
    """A CTE read once becomes a derived table: ``WITH c AS (q) SELECT .. FROM c`` ->
    ``SELECT .. FROM (q) AS c``."""
    with_ = tree.args.get("with_")
    if with_ is None or with_.args.get("recursive"):
        return None
    for position, cte in enumerate(with_.expressions):
        name = cte.alias_or_name.lower()
        uses = [
            t for t in tree.find_all(exp.Table) if t.name.lower() == name and not t.args.get("db")
        ]
        if len(uses) != 1 or uses[0].find_ancestor(exp.CTE) is not None:
            continue
        out = tree.copy()
        use = _same(out, tree, uses)[0]
        alias = use.alias or use.name
        use.replace(
            exp.Subquery(this=cte.this.copy(), alias=exp.TableAlias(this=exp.to_identifier(alias)))
        )
        remaining = [c for k, c in enumerate(out.args["with_"].expressions) if k != position]
        if remaining:
            out.args["with_"].set("expressions", remaining)
        else:
            out.set("with_", None)
        return out
    return None
