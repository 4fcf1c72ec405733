"""Set operations as English: UNION is "... or ...", INTERSECT "shared by both ... and
...", EXCEPT "... but not of those ..."."""

from __future__ import annotations

from sqlglot import exp

from sqlfoundry.synth.realiser.frames import Frame
from sqlfoundry.synth.realiser.lexicon import Chooser
from sqlfoundry.synth.realiser.mods import Mod, all_of, any_of
from sqlfoundry.synth.realiser.plan import Query, SelectQuery, SetQuery, first_select


class SetFrames:
    """Mixin of the frame builder for UNION / INTERSECT / EXCEPT."""

    def _set_frame(self, query: SetQuery) -> Frame:
        left, right = self.frame(query.left), self.frame(query.right)
        l_sel, r_sel = first_select(query.left), first_select(query.right)
        same_items = left.items == right.items and left.kind == right.kind == "list"
        same_subject = (
            same_items
            and self.subject_of(l_sel).entity == self.subject_of(r_sel).entity
            and isinstance(query.left, SelectQuery)
            and isinstance(query.right, SelectQuery)
        )
        order = ""
        if query.order:
            order = self._order_phrase(query.order, self.scope_of(l_sel))
        if query.limit is not None:
            order += f", keeping only the first {query.limit}"
        which: list[str] = []
        l_head, r_head = left.head.removeprefix("all "), right.head.removeprefix("all ")
        merged_np = self._one_population(query, left.items) if same_subject else None
        if merged_np is not None:
            np = merged_np
        elif same_items:
            items = left.items
            if query.kind == "union":
                l_mod = self._plain_mods(query.left)
                r_mod = self._plain_mods(query.right)
                if same_subject and l_mod is not None and r_mod is not None:
                    merged = any_of([l_mod, r_mod])
                    np = f"{items} of {self.subject_of(l_sel).entities} {merged.post}"
                else:
                    np = f"{items} of {left.head} or of {right.head}"
            elif query.kind == "intersect" and same_subject and self._keyed(l_sel):
                # Rows of one table kept by both sides, each named by its key: both conditions.
                both = all_of([self._plain_mods(query.left), self._plain_mods(query.right)])
                np = f"{items} of {self.subject_of(l_sel).entities} {both.post}"
            elif query.kind == "intersect":
                np = f"{items} shared by both {l_head} and {r_head}"
                bare = items.removeprefix("the ")
                if left.plural:
                    which.append(f"Which {bare} are shared by both {l_head} and {r_head}{order}?")
            else:
                r_mod = self._plain_mods(query.right)
                negated = (
                    _negated(r_mod.relative(True))
                    if same_subject and r_mod is not None and not l_sel.where
                    and self._keyed(l_sel)
                    else None
                )  # fmt: skip
                if negated is not None:
                    # Every keyed row but those that do: "airports that are not the
                    # destination airport of any flight".
                    np = f"{items} of {self.subject_of(l_sel).entities} {negated}"
                elif same_subject and r_mod is not None:
                    np = f"{items} of {left.head}, but not of those {r_mod.relative(True)}"
                else:
                    np = f"{items} of {left.head} but not of {right.head}"
        elif left.kind == right.kind == "list" and left.head == right.head:
            # Different columns of the same rows: "the source or destination airports of flights".
            other = right.items.removeprefix("the ")
            np = {
                "union": f"{left.items} or {other} of {left.head}",
                "intersect": f"{left.items} of {left.head} that are also their {other}",
                "except": f"{left.items} of {left.head} that are not also their {other}",
            }[query.kind]
        else:
            joiner = {"union": "together with", "intersect": "that are also among",
                      "except": "excluding"}[query.kind]  # fmt: skip
            np = f"{left.np}, {joiner} {right.np}"
        frame = Frame(kind="set", items=np, plural=left.plural, order=order, which=which)
        frame.np = np + order
        return frame

    def _keyed(self, select: SelectQuery) -> bool:
        """Whether a plain SELECT of one table returns its key (so rows are told apart)."""
        if len(select.sources) != 1 or select.group or select.limit is not None:
            return False
        for proj in select.projections:
            col = select.col(proj) if isinstance(proj, exp.Column) else None
            if col is not None and col.words is not None and col.words.key:
                return True
        return False

    def _one_population(self, query: SetQuery, items: str) -> str | None:
        """Two branches that differ in one value, said once: "the names of publishers that
        have a book with language English but not Japanese", "... both Fantasy and History"."""
        # Both sides in the same wording, so what they share can be said once.
        chooser, self.choose = self.choose, Chooser(None)
        try:
            l_mod, r_mod = self._plain_mods(query.left), self._plain_mods(query.right)
        finally:
            self.choose = chooser
        if l_mod is None or r_mod is None:
            return None
        left, right = l_mod.rel.split(), r_mod.rel.split()
        k = 0
        while k < min(len(left), len(right)) and left[k] == right[k]:
            k += 1
        a, b = " ".join(left[k:]), " ".join(right[k:])
        if k < 3 or not a or not b or len(left) - k > 4 or len(right) - k > 4:
            return None
        shared = " ".join(left[:k])
        said = {"union": f"{shared} {a} or {b}", "intersect": f"{shared} both {a} and {b}",
                "except": f"{shared} {a} but not {b}"}[query.kind]  # fmt: skip
        entities = self.subject_of(first_select(query.left)).entities
        return f"{items} of {entities} {said}"

    def _plain_mods(self, query: Query) -> Mod | None:
        """The WHERE restrictions of a plain SELECT (no grouping), for merging set sides."""
        if not isinstance(query, SelectQuery) or query.group or query.limit is not None:
            return None
        scope = self.scope_of(query)
        return self.restrict(query.where, scope)


def _negated(relative: str) -> str | None:
    """ "that have a pet" -> "that do not have any pet", "that are the origin of a
    flight" -> "that are not the origin of any flight"; None for anything else
    (several clauses, other verbs)."""
    if " and " in relative or " or " in relative or "," in relative:
        return None
    if relative.startswith("that have "):
        rest = relative.removeprefix("that have ")
        for article in ("a ", "an "):
            if rest.startswith(article):
                rest = "any " + rest.removeprefix(article)
        return f"that do not have {rest}"
    if relative.startswith("that are ") and not relative.startswith("that are not "):
        rest = (
            relative.removeprefix("that are ")
            .replace(" of a ", " of any ")
            .replace(" of an ", " of any ")
        )
        return f"that are not {rest}"
    return None
