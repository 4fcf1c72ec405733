"""Table alias rules: rename, add or remove them, following each alias to its scope.

Spider reuses ``T1`` in every subquery, so an alias is always resolved in the
scope that defines it (looking outwards for correlated references), never by
name alone.
"""

from __future__ import annotations

from collections import defaultdict

from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.scope import Scope, traverse_scope

from sqlfoundry.synth.rewrites.base import (
    SchemaFacts,
    cte_names,
    fresh_name,
    initials,
    is_plain_identifier,
    sources,
)


def _scopes(tree: exp.Expression) -> list[Scope] | None:
    try:
        return traverse_scope(tree)
    except OptimizeError:
        return None


def _from_nodes(scope: Scope) -> list[exp.Expression]:
    return sources(scope.expression) if isinstance(scope.expression, exp.Select) else []


def _defining(scope: Scope | None, qualifier: str) -> exp.Expression | None:
    while scope is not None:
        for node in _from_nodes(scope):
            if node.alias_or_name.lower() == qualifier:
                return node
        scope = scope.parent
    return None


def _references(tree: exp.Expression) -> dict[int, list[exp.Column]] | None:
    """For each FROM/JOIN node (by id), the qualified columns that name it."""
    scopes = _scopes(tree)
    if scopes is None:
        return None
    refs: dict[int, list[exp.Column]] = defaultdict(list)
    for scope in scopes:
        for col in scope.find_all(exp.Column):
            if not col.table:
                continue
            node = _defining(scope, col.table.lower())
            if node is None:
                return None  # a qualifier nothing defines: leave such a query alone
            refs[id(node)].append(col)
    return refs


def _base_tables(tree: exp.Expression, with_ctes: bool = False) -> list[exp.Table]:
    """FROM/JOIN tables in text order: real tables, and CTE references if asked."""
    ctes = cte_names(tree)
    out = []
    for select in tree.find_all(exp.Select):
        for node in sources(select):
            if isinstance(node, exp.Table) and (with_ctes or node.name.lower() not in ctes):
                out.append(node)
    position = {id(n): i for i, n in enumerate(tree.walk(bfs=False))}
    # WITH is printed first whatever its place in the tree: its tables come first.
    return sorted(out, key=lambda n: (n.find_ancestor(exp.With) is None, position[id(n)]))


def _set_alias(node: exp.Table, alias: str | None, columns: list[exp.Column]) -> None:
    node.set("alias", exp.TableAlias(this=exp.to_identifier(alias)) if alias else None)
    for col in columns:
        col.set("table", exp.to_identifier(alias or node.name))


def rename_aliases(tree: exp.Expression, facts: SchemaFacts | None = None):
    """``T1``/``T2`` aliases -> the tables' initials (``s``, ``sic``); other aliases -> T1, T2..."""
    out = tree.copy()
    refs = _references(out)
    tables = [t for t in _base_tables(out, with_ctes=True) if t.alias]
    if refs is None or not tables:
        return None
    numbered = all(t.alias[:1].upper() == "T" and t.alias[1:].isdigit() for t in tables)
    taken = {t.name.lower() for t in out.find_all(exp.Table)} | cte_names(out)
    taken |= {source.alias_or_name.lower() for source in out.find_all(exp.Subquery)}
    n = 0
    for table in tables:
        if numbered:
            alias = fresh_name(initials(table.name), taken)
        else:
            n += 1
            while f"t{n}" in taken:
                n += 1
            alias = f"T{n}"
        taken.add(alias.lower())
        _set_alias(table, alias, refs.get(id(table), []))
    return out


def remove_aliases(tree: exp.Expression, facts: SchemaFacts | None = None):
    """``FROM singer AS T1 ... T1.name`` -> ``FROM singer ... singer.name``, when every
    table appears once in the whole query (so a table name is never ambiguous)."""
    out = tree.copy()
    refs = _references(out)
    tables = _base_tables(out)
    if refs is None or not any(t.alias for t in tables) or out.find(exp.With):
        return None
    names = [t.name.lower() for t in tables]
    if len(set(names)) != len(names):
        return None
    if not all(is_plain_identifier(t.name) for t in tables if t.alias):
        return None  # a table called CAST or "order items" would need quoting as a qualifier
    derived = {q.alias.lower() for q in out.find_all(exp.Subquery) if q.alias}
    if derived & set(names):
        return None
    for table in tables:
        if table.alias:
            _set_alias(table, None, refs.get(id(table), []))
    return out


def add_aliases(tree: exp.Expression, facts: SchemaFacts | None = None):
    """Give unaliased tables Spider-style aliases ``T1``, ``T2``... (table-qualified
    columns follow); only when some column names a table, else nothing would change."""
    out = tree.copy()
    refs = _references(out)
    tables = _base_tables(out)
    bare = [t for t in tables if not t.alias]
    # An alias nothing refers to (FROM shop AS T1 with bare columns) changes nothing.
    if refs is None or not any(refs.get(id(t)) for t in bare):
        return None
    taken = {t.name.lower() for t in out.find_all(exp.Table)} | cte_names(out)
    taken |= {t.alias.lower() for t in tables if t.alias}
    n = 0
    for table in bare:
        n += 1
        while f"t{n}" in taken:
            n += 1
        taken.add(f"t{n}")
        _set_alias(table, f"T{n}", refs.get(id(table), []))
    return out
