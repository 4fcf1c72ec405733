"""Prompt templates kept as files in ``sqlfoundry/llm/prompts/``, never as f-strings in code.

A template file is a header of ``# key: value`` lines, then one or more role
sections, each opened by a line that is exactly ``@system``, ``@user`` or
``@assistant``::

    # name: consistency_judge
    # description: Does the SQL answer the question?
    # variables: dialect, schema, question, evidence, sql
    # optional: evidence
    @system
    You are ...
    @user
    Question: $question

    External knowledge: $evidence

Placeholders are ``string.Template``'s ``$name`` / ``${name}``; a literal dollar
is ``$$``, and braces need no escaping, so JSON examples read as they are. The
check is strict both ways: every placeholder must be declared and every
declared variable used (checked when the file loads), and rendering needs every
required variable and refuses unknown ones (so a typo cannot slip through).
An optional variable that is missing or empty removes the whole paragraph (the
run of non-blank lines) it appears in, so a heading and its value go together.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from string import Template
from typing import Any

from sqlfoundry.core.errors import TemplateError

ROLES = ("system", "user", "assistant")
SUFFIX = ".txt"


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    description: str
    variables: tuple[str, ...]
    optional: frozenset[str]
    sections: tuple[tuple[str, str], ...]  # (role, text)
    source: str

    @property
    def required(self) -> tuple[str, ...]:
        """The variables a render must be given."""
        return tuple(v for v in self.variables if v not in self.optional)

    def render(self, **values: Any) -> list[dict[str, str]]:
        """Chat messages, one per section.

        Raises:
            TemplateError: a required variable is missing or None, or a name is unknown.
        """
        self._check(values)
        empty = {
            name
            for name in self.optional
            if values.get(name) is None or str(values.get(name)).strip() == ""
        }
        text_values = {name: "" if name in empty else str(values[name]) for name in self.variables}
        messages = []
        for role, text in self.sections:
            kept = _drop_paragraphs(text, frozenset(empty)) if empty else text
            content = Template(kept).substitute(text_values)
            messages.append({"role": role, "content": content.strip("\n")})
        return messages

    def render_text(self, **values: Any) -> str:
        """The sections' contents joined by a blank line, for single-string prompts."""
        return "\n\n".join(m["content"] for m in self.render(**values))

    def _check(self, values: dict[str, Any]) -> None:
        unknown = sorted(set(values) - set(self.variables))
        if unknown:
            raise TemplateError(
                f"template {self.name!r} has no variable(s) {', '.join(unknown)}",
                file=self.source,
                hint=f"it declares: {', '.join(self.variables)}",
            )
        missing = [v for v in self.required if values.get(v) is None]
        if missing:
            raise TemplateError(
                f"template {self.name!r} needs {', '.join(missing)}",
                file=self.source,
                hint=f"optional: {', '.join(sorted(self.optional)) or 'none'}",
            )


def _names(text: str) -> set[str]:
    return set(Template(text).get_identifiers())


# A synthesis run renders the same few templates thousands of times with the same
# optional variables left empty: each text is cut once.
@lru_cache(maxsize=256)
def _drop_paragraphs(text: str, empty: frozenset[str]) -> str:
    """Remove each paragraph (run of non-blank lines) that uses an empty optional variable."""
    out: list[str] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph and not (_names("\n".join(paragraph)) & empty):
            out.extend(paragraph)
        paragraph.clear()

    for line in text.split("\n"):
        if line.strip():
            paragraph.append(line)
            continue
        flush()
        if out and out[-1] != "":
            out.append("")
    flush()
    return "\n".join(out)


def parse_template(text: str, source: str = "<string>") -> PromptTemplate:
    """Parse and check a template file's text."""
    header: dict[str, str] = {}
    lines = text.split("\n")
    pos = 0
    while pos < len(lines) and (lines[pos].startswith("#") or not lines[pos].strip()):
        line = lines[pos].lstrip("#").strip()
        if line:
            key, sep, value = line.partition(":")
            if not sep:
                raise TemplateError(
                    f"header line {line!r} is not 'key: value'", file=source, line=pos + 1
                )
            header[key.strip().lower()] = value.strip()
        pos += 1
    for key in ("name", "variables"):
        if key not in header:
            raise TemplateError(f"template header lacks '# {key}:'", file=source)
    variables = tuple(v.strip() for v in header["variables"].split(",") if v.strip())
    optional = frozenset(v.strip() for v in header.get("optional", "").split(",") if v.strip())
    if optional - set(variables):
        raise TemplateError(
            f"optional {sorted(optional - set(variables))} not among the variables", file=source
        )
    sections: list[tuple[str, list[str]]] = []
    for number, line in enumerate(lines[pos:], start=pos + 1):
        marker = line.strip()
        if marker.startswith("@") and marker[1:] in ROLES and marker == line.rstrip():
            sections.append((marker[1:], []))
        elif not sections:
            raise TemplateError(
                "text before the first @system/@user section", file=source, line=number
            )
        else:
            sections[-1][1].append(line)
    if not sections:
        raise TemplateError("no @system/@user section", file=source)
    used: set[str] = set()
    out_sections = []
    for role, body in sections:
        section_text = "\n".join(body).strip("\n")
        template = Template(section_text)
        if not template.is_valid():
            raise TemplateError(
                f"invalid placeholder in the @{role} section (write a literal dollar as $$)",
                file=source,
            )
        used |= set(template.get_identifiers())
        out_sections.append((role, section_text))
    undeclared = used - set(variables)
    if undeclared:
        raise TemplateError(
            f"placeholder(s) {', '.join(sorted(undeclared))} not declared in '# variables:'",
            file=source,
        )
    unused = set(variables) - used
    if unused:
        raise TemplateError(
            f"declared variable(s) {', '.join(sorted(unused))} never used", file=source
        )
    return PromptTemplate(
        name=header["name"],
        description=header.get("description", ""),
        variables=variables,
        optional=optional,
        sections=tuple(out_sections),
        source=source,
    )


def _folder():
    return resources.files("sqlfoundry.llm").joinpath("prompts")


def template_names() -> list[str]:
    """Every template shipped with the package."""
    return sorted(
        entry.name[: -len(SUFFIX)] for entry in _folder().iterdir() if entry.name.endswith(SUFFIX)
    )


@cache
def load_template(name: str) -> PromptTemplate:
    """The packaged template ``name`` (file ``prompts/<name>.txt``)."""
    entry = _folder().joinpath(name + SUFFIX)
    if not entry.is_file():
        raise TemplateError(
            f"no prompt template {name!r}", hint=f"available: {', '.join(template_names())}"
        )
    template = parse_template(entry.read_text(encoding="utf-8"), source=f"prompts/{name}{SUFFIX}")
    if template.name != name:
        raise TemplateError(f"the header says name {template.name!r}", file=template.source)
    return template


def render_prompt(name: str, **values: Any) -> list[dict[str, str]]:
    """Render the packaged template ``name`` into chat messages."""
    return load_template(name).render(**values)


# ---------------------------------------------------------------- question styles

QUESTION_STYLES = (
    "formal",
    "colloquial",
    "imperative",
    "interrogative",
    "descriptive",
    "concise",
    "vague",
    "metaphorical",
    "conversational",
)


@cache
def prompt_data(name: str) -> dict[str, Any]:
    """A TOML data file of the prompt library (``prompts/<name>.toml``): the guides
    templates are filled with, such as the question styles or the depth techniques.

    Raises:
        TemplateError: no such file, or it is not valid TOML.
    """
    entry = _folder().joinpath(name + ".toml")
    if not entry.is_file():
        raise TemplateError(f"no prompt data file {name!r}", file=f"prompts/{name}.toml")
    try:
        return tomllib.loads(entry.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise TemplateError(f"invalid TOML: {err}", file=f"prompts/{name}.toml") from None


def _styles() -> dict[str, dict[str, str]]:
    return prompt_data("question_styles")


def question_style(style: str) -> dict[str, str]:
    """``{"description", "example"}`` of a question style, for question_generation.

    Raises:
        TemplateError: an unknown style, listing the known ones.
    """
    styles = _styles()
    if style not in styles:
        raise TemplateError(
            f"unknown question style {style!r}", hint=f"styles: {', '.join(QUESTION_STYLES)}"
        )
    return styles[style]


def question_candidates_messages(styles: list[str], **values: Any) -> list[dict[str, str]]:
    """Render question_candidates: one question per style in ``styles``, in one request,
    each style's guide numbered in order."""
    lines = []
    for number, style in enumerate(styles, start=1):
        guide = question_style(style)
        lines.append(f"{number}. {style}: {guide['description']} Example: {guide['example']}")
    return render_prompt("question_candidates", count=len(styles), styles="\n".join(lines),
                         **values)  # fmt: skip


def question_generation_messages(style: str, **values: Any) -> list[dict[str, str]]:
    """Render question_generation with the style's guide filled in from question_styles.toml."""
    guide = question_style(style)
    return render_prompt(
        "question_generation",
        style=style,
        style_description=guide["description"],
        style_example=guide["example"],
        **values,
    )
