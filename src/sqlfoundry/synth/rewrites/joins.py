"""Join rules: swap the first two inner-joined tables; comma joins to JOIN ... ON."""

from __future__ import annotations

from sqlglot import exp

from sqlfoundry.synth.rewrites.base import (
    SchemaFacts,
    and_all,
    has_star,
    is_inner,
    qualifiers,
    set_where,
    source_name,
    sources,
    where_parts,
)


def reorder_joins(tree: exp.Expression, facts: SchemaFacts | None = None):
    """``FROM a JOIN b ON c`` -> ``FROM b JOIN a ON c`` (inner joins; no ``*``, whose
    column order would change)."""
    out = tree.copy()
    for select in out.find_all(exp.Select):
        joins = select.args.get("joins") or []
        if not joins or not is_inner(joins[0]) or has_star(select):
            continue
        first = select.args["from_"].this
        second = joins[0].this
        select.set("from_", exp.From(this=second.copy()))
        swapped = exp.Join(this=first.copy(), on=joins[0].args["on"].copy())
        select.set("joins", [swapped, *joins[1:]])
        return out
    return None


def _is_comma(join: exp.Join) -> bool:
    return (join.args.get("kind") or "").upper() == "CROSS" and join.args.get("on") is None


def explicit_join(tree: exp.Expression, facts: SchemaFacts | None = None):
    """``FROM a, b WHERE a.k = b.k AND ...`` -> ``FROM a JOIN b ON a.k = b.k WHERE ...``."""
    out = tree.copy()
    changed = False
    for select in out.find_all(exp.Select):
        joins = select.args.get("joins") or []
        names = [source_name(s) for s in sources(select)]
        if len(set(names)) != len(names):
            continue
        parts = where_parts(select)
        for position, join in enumerate(joins, start=1):
            if not _is_comma(join):
                continue
            name, earlier = names[position], set(names[:position])
            links = [
                p
                for p in parts
                if isinstance(p, exp.EQ)
                and all(isinstance(side, exp.Column) for side in (p.this, p.expression))
                and name in qualifiers(p)
                and qualifiers(p) - {name} <= earlier
                and len(qualifiers(p)) == 2
            ]
            if not links:
                continue
            parts = [p for p in parts if not any(p is link for link in links)]
            join.set("kind", None)
            join.set("on", and_all(link.copy() for link in links))
            changed = True
        if changed:
            set_where(select, parts)
            return out
    return None
