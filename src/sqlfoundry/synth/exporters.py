"""Training exports of synthesis records: LlamaFactory, OpenAI fine-tuning, parquet,
a Hugging Face dataset folder, JSONL and CSV.

The input is the synthesis output format (one line of ``RUN_DIR/data.jsonl``):
``id``, ``db_id``, ``question``, ``SQL``, ``evidence``, ``prompt``,
``cot_reasoning``, ``sql_component_difficulty``, ``sql_execution_difficulty``,
``meta``; :class:`~sqlfoundry.core.sample.Sample` objects are accepted too.

=============  ==========================================================================
format         files in ``out_dir``
=============  ==========================================================================
llamafactory   ``alpaca.json``, ``sharegpt.json`` and ``dataset_info.json`` describing
               both (merged into an existing ``dataset_info.json``, so ``out_dir`` can
               be LlamaFactory's ``data/`` folder)
openai         ``openai.jsonl``: ``{"messages": [system?, user, assistant]}`` per line
omnisql        ``omnisql.json``: a JSON array of ``{"input_seq", "output_seq"}``, the
               training file OmniSQL's ``train.py`` reads (``input_seq`` is the user
               turn, ``output_seq`` the assistant's)
parquet        ``data.parquet``: every field, ``meta`` as JSON text
hf             ``data/train-00000-of-00001.parquet`` and a ``README.md`` dataset card
               whose YAML ``configs`` point at it and whose ``dataset_info`` gives the
               features and the split's size (``datasets.load_dataset(out_dir)``
               reads it with no warning)
jsonl          ``data.jsonl``: the records as they are (``flatten=True``: ``meta`` as text)
csv            ``data.csv``: one column per field, ``meta`` as JSON text
sqlo1          records made by ``sqlfoundry prepare-sft``: LlamaFactory files whose answer is
               the bare SQL, and ``sqlo1_prompts.json`` (``input``, ``db_id``, ``target``
               per item), the file the tree search reads
=============  ==========================================================================

The chat formats train a model to answer the record's ``prompt``. With
``target="cot"`` (the default) the answer is the ``cot_reasoning`` and, for a
record without one, the SQL in a ```sql block (counted in the report's
``notes``); ``target="sql"`` always answers with the SQL block, and a prompt
rendered from a built-in format that asks for reasoning first (``omnisql``) is
rewritten as that format's SQL-only twin renders it (``omnisql_sql``), so the
prompt never asks for reasoning the answer does not give; a prompt from a
template of your own is kept as written (counted in ``notes``). Records that
lack what a format needs (no prompt for a chat format) are skipped and
counted by reason. Table formats (parquet, hf, jsonl, csv) keep every record
and every field: the standard ones first, in the order above, then any other
keys in the order they first appear, as JSON text when they are not strings.

Every file is written atomically (temporary file, then rename).
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.core.extras import missing_extra
from sqlfoundry.core.io import atomic_path, atomic_write_text, check_output
from sqlfoundry.core.operator import Params
from sqlfoundry.core.sample import Sample

log = logging.getLogger(__name__)

# The synthesis output fields, in the order every table format writes them.
COLUMNS = (
    "id",
    "db_id",
    "question",
    "SQL",
    "evidence",
    "prompt",
    "cot_reasoning",
    "sql_component_difficulty",
    "sql_execution_difficulty",
    "meta",
)

HF_DATA_FILE = "data/train-00000-of-00001.parquet"


@dataclass
class ExportReport:
    """What one export wrote.

    Attributes:
        format: the format name.
        files: every file written, in order.
        written: records written.
        skipped: records left out, by reason (``"missing field: prompt"``).
        notes: records written with a caveat, by what it was
            (``"no cot_reasoning: answered with the SQL"``).
    """

    format: str
    files: list[Path] = field(default_factory=list)
    written: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        """One line for a person: what was written where, and what was left out."""
        names = ", ".join(p.name for p in self.files) or "no files"
        text = f"{self.format}: {self.written} record(s) written ({names})"
        if self.skipped:
            parts = "; ".join(f"{reason}: {n}" for reason, n in sorted(self.skipped.items()))
            text += f"; skipped {sum(self.skipped.values())} ({parts})"
        if self.notes:
            text += "; " + "; ".join(f"{note}: {n}" for note, n in sorted(self.notes.items()))
        return text

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "format": self.format,
            "files": [str(p) for p in self.files],
            "written": self.written,
            "skipped": dict(self.skipped),
            "notes": dict(self.notes),
        }


# --------------------------------------------------------------------------- options


class _ChatOptions(Params):
    target: Literal["cot", "sql"] = "cot"
    system: str | None = None


class LlamaFactoryOptions(_ChatOptions):
    """``target``: ``cot`` or ``sql``; ``system``: a system prompt for every record;
    ``dataset_name``: the prefix of the two ``dataset_info.json`` entries."""

    dataset_name: str = Field("sqlfoundry", min_length=1)


class OpenAIOptions(_ChatOptions):
    """``target``: ``cot`` or ``sql``; ``system``: a system message for every record."""


class OmniSQLOptions(Params):
    """``target``: answer with the CoT (``cot``, as OmniSQL trains) or the SQL alone (``sql``)."""

    target: Literal["cot", "sql"] = "cot"


class HFOptions(Params):
    """``name``: the dataset's title on its card."""

    name: str = Field("sqlfoundry text-to-SQL", min_length=1)


class JsonlOptions(Params):
    """``flatten``: write ``meta`` (and other non-text extras) as JSON text."""

    flatten: bool = False


class NoOptions(Params):
    pass


class Sqlo1Options(Params):
    """``dataset_name``: the prefix of the two ``dataset_info.json`` entries; ``system``: a
    system prompt for every record (SQL-o1 trains with none)."""

    dataset_name: str = Field("sqlo1", min_length=1)
    system: str | None = None


# --------------------------------------------------------------------------- records


def _as_record(item: Any) -> dict[str, Any] | None:
    if isinstance(item, Sample):
        from sqlfoundry.synth.records import output_record

        return output_record(item)
    return dict(item) if isinstance(item, Mapping) else None


def _text(record: Mapping[str, Any], key: str) -> str | None:
    value = record.get(key)
    return value if isinstance(value, str) and value.strip() else None


def sql_block(sql: str) -> str:
    """The SQL as a fenced ```sql block, the form SQL answers are trained in."""
    return f"```sql\n{sql.strip()}\n```"


def _chat_pair(
    record: Mapping[str, Any], target: str, report: ExportReport
) -> tuple[str, str] | None:
    """``(prompt, answer)`` for a chat format, or None (counted in ``report.skipped``)."""
    prompt = _text(record, "prompt")
    if prompt is None:
        report.skipped["missing field: prompt"] += 1
        return None
    if target == "cot":
        cot = _text(record, "cot_reasoning")
        if cot is not None:
            return prompt, cot
    sql = _text(record, "SQL")
    if sql is None:
        reason = "missing field: SQL" if target == "sql" else "missing field: cot_reasoning and SQL"
        report.skipped[reason] += 1
        return None
    if target == "sql":
        prompt = _sql_only(prompt, record, report)
    else:
        report.notes["no cot_reasoning: answered with the SQL"] += 1
    return prompt, sql_block(sql)


def _sql_only(prompt: str, record: Mapping[str, Any], report: ExportReport) -> str:
    """The prompt as its format's SQL-only twin renders it, or as written (noted)."""
    from sqlfoundry.synth.prompt_generator import sql_only_prompt

    meta = record.get("meta") if isinstance(record.get("meta"), Mapping) else {}
    steps = meta.get("provenance") if isinstance(meta.get("provenance"), list) else []
    template = next((step.get("template") for step in reversed(steps) if isinstance(step, Mapping)
                     and step.get("operator") == "prompt_generator"), None)  # fmt: skip
    converted = sql_only_prompt(prompt, template)
    if converted is None:
        report.notes["target sql: prompt kept as written (not from a built-in format)"] += 1
        return prompt
    return converted


def _columns(records: list[dict[str, Any]]) -> list[str]:
    extra: dict[str, None] = {}
    for record in records:
        for key in record:
            if key not in COLUMNS:
                extra[key] = None
    return [*COLUMNS, *extra]


def _flat(value: Any) -> str | None:
    """A field as text: strings as they are, None as None, anything else as JSON."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _json_file(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2) + "\n"


# --------------------------------------------------------------------------- formats


def _llamafactory(
    records: list[dict[str, Any]], out: Path, opts: LlamaFactoryOptions, report: ExportReport
) -> None:
    pairs = (_chat_pair(record, opts.target, report) for record in records)
    write_llamafactory([p for p in pairs if p is not None], out, opts.dataset_name, opts.system,
                       report)  # fmt: skip


def write_llamafactory(
    pairs: list[tuple[str, str]],
    out: Path,
    dataset_name: str,
    system: str | None,
    report: ExportReport,
) -> None:
    """``alpaca.json``, ``sharegpt.json`` and their ``dataset_info.json`` entries
    (``<dataset_name>_alpaca`` / ``_sharegpt``) for ``(prompt, answer)`` pairs."""
    alpaca: list[dict[str, Any]] = []
    sharegpt: list[dict[str, Any]] = []
    for prompt, answer in pairs:
        row: dict[str, Any] = {"instruction": prompt, "input": "", "output": answer}
        talk: dict[str, Any] = {
            "conversations": [{"from": "human", "value": prompt}, {"from": "gpt", "value": answer}]
        }
        if system is not None:
            row["system"] = talk["system"] = system
        alpaca.append(row)
        sharegpt.append(talk)
        report.written += 1

    alpaca_columns = {"prompt": "instruction", "query": "input", "response": "output"}
    sharegpt_columns = {"messages": "conversations"}
    if system is not None:
        alpaca_columns["system"] = sharegpt_columns["system"] = "system"
    entries = {
        f"{dataset_name}_alpaca": {
            "file_name": "alpaca.json",
            "formatting": "alpaca",
            "columns": alpaca_columns,
        },
        f"{dataset_name}_sharegpt": {
            "file_name": "sharegpt.json",
            "formatting": "sharegpt",
            "columns": sharegpt_columns,
            "tags": {
                "role_tag": "from",
                "content_tag": "value",
                "user_tag": "human",
                "assistant_tag": "gpt",
            },
        },
    }
    info_path = out / "dataset_info.json"
    info = {**_existing_dataset_info(info_path), **entries}
    _write_text(report, out / "alpaca.json", _json_file(alpaca))
    _write_text(report, out / "sharegpt.json", _json_file(sharegpt))
    _write_text(report, info_path, _json_file(info))


SQLO1_PROMPTS = "sqlo1_prompts.json"


def _sqlo1(
    records: list[dict[str, Any]], out: Path, opts: Sqlo1Options, report: ExportReport
) -> None:
    """SQL-o1's SFT data: the schema-aware prompt answered by the bare SQL (the search reads
    the answer as a query to continue), and ``sqlo1_prompts.json``, one ``{input, db_id,
    target}`` per item with an empty incomplete query (what the search and SQL-o1's own
    scripts read)."""
    pairs: list[tuple[str, str]] = []
    prompts: list[dict[str, Any]] = []
    for record in records:
        meta = record.get("meta")
        info = meta.get("sqlo1") if isinstance(meta, dict) else None
        prompt, sql = _text(record, "prompt"), _text(record, "SQL")
        if not isinstance(info, dict) or prompt is None:
            report.skipped[
                "no SQL-o1 prompt (prepare the records with sqlfoundry prepare-sft)"
            ] += 1
            continue
        if sql is None:
            report.skipped["missing field: SQL"] += 1
            continue
        pairs.append((prompt, sql.strip()))
        if not info.get("incomplete_sql"):
            entry = {"id": record.get("id"), "db_id": record.get("db_id"),
                     "question": record.get("question"), "input": prompt, "target": sql.strip()}  # fmt: skip
            if record.get("evidence"):
                entry["evidence"] = record["evidence"]
            prompts.append(entry)
    write_llamafactory(pairs, out, opts.dataset_name, opts.system, report)
    _write_text(report, out / SQLO1_PROMPTS, _json_file(prompts))


def _existing_dataset_info(path: Path) -> dict[str, Any]:
    """The datasets already registered in ``path``, kept when ours are added."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(
            f"cannot add to {path}: it is not valid JSON ({err})",
            file=str(path),
            hint="fix or remove it, or export to another folder",
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"cannot add to {path}: it is not a JSON object", file=str(path))
    return data


def _openai(
    records: list[dict[str, Any]], out: Path, opts: OpenAIOptions, report: ExportReport
) -> None:
    lines: list[str] = []
    for record in records:
        pair = _chat_pair(record, opts.target, report)
        if pair is None:
            continue
        prompt, answer = pair
        messages = [] if opts.system is None else [{"role": "system", "content": opts.system}]
        messages += [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]
        lines.append(json.dumps({"messages": messages}, ensure_ascii=False) + "\n")
        report.written += 1
    _write_text(report, out / "openai.jsonl", "".join(lines))


def _omnisql(
    records: list[dict[str, Any]], out: Path, opts: OmniSQLOptions, report: ExportReport
) -> None:
    rows = []
    for record in records:
        pair = _chat_pair(record, opts.target, report)
        if pair is not None:
            rows.append({"input_seq": pair[0], "output_seq": pair[1]})
    report.written = len(rows)
    _write_text(report, out / "omnisql.json", _json_file(rows))


def _jsonl(
    records: list[dict[str, Any]], out: Path, opts: JsonlOptions, report: ExportReport
) -> None:
    columns = _columns(records)
    lines = []
    for record in records:
        row = {c: record.get(c) for c in columns if c in record or c in COLUMNS}
        if opts.flatten:
            row = {c: _flat(v) for c, v in row.items()}
        lines.append(json.dumps(row, ensure_ascii=False) + "\n")
    report.written = len(lines)
    _write_text(report, out / "data.jsonl", "".join(lines))


def _csv(records: list[dict[str, Any]], out: Path, opts: NoOptions, report: ExportReport) -> None:
    columns = _columns(records)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for record in records:
        writer.writerow(["" if (v := _flat(record.get(c))) is None else v for c in columns])
    report.written = len(records)
    _write_text(report, out / "data.csv", buffer.getvalue())


def _parquet(
    records: list[dict[str, Any]], out: Path, opts: NoOptions, report: ExportReport
) -> None:
    _write_parquet(report, out / "data.parquet", records)
    report.written = len(records)


def _hf(records: list[dict[str, Any]], out: Path, opts: HFOptions, report: ExportReport) -> None:
    columns, num_bytes = _write_parquet(report, out / HF_DATA_FILE, records)
    report.written = len(records)
    sizes = {"num_bytes": num_bytes, "download_size": (out / HF_DATA_FILE).stat().st_size}
    _write_text(report, out / "README.md", dataset_card(records, columns, opts.name, sizes))


def _write_parquet(
    report: ExportReport, path: Path, records: list[dict[str, Any]]
) -> tuple[list[str], int]:
    """One parquet file of every record, every column a string.

    Returns:
        The columns, and the table's size in memory (what ``datasets`` calls a
        split's ``num_bytes``).
    """
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise missing_extra("exporting parquet or hf", "export", "pyarrow") from None
    columns = _columns(records)
    table = pa.table(
        {c: pa.array([_flat(r.get(c)) for r in records], type=pa.string()) for c in columns}
    )
    with atomic_path(path) as tmp:
        pq.write_table(table, str(tmp))
    report.files.append(path)
    return columns, table.nbytes


def dataset_card(
    records: list[dict[str, Any]],
    columns: list[str],
    name: str,
    sizes: Mapping[str, int] | None = None,
) -> str:
    """The README.md of an ``hf`` export: YAML front matter (``configs`` pointing at the
    parquet file, the features, the split's examples and bytes) and a short description.

    Args:
        sizes: ``num_bytes`` (the table in memory) and ``download_size`` (the
            parquet file); ``datasets`` ignores a split whose ``num_bytes`` is missing.
    """
    sizes = sizes or {}
    features = "".join(f"  - name: {json.dumps(c)}\n    dtype: string\n" for c in columns)
    databases = len({r.get("db_id") for r in records})
    lines = [
        "---",
        f"pretty_name: {json.dumps(name, ensure_ascii=False)}",
        "task_categories:",
        "- text-generation",
        "tags:",
        "- text-to-sql",
        "- sql",
        "- synthetic",
        "configs:",
        "- config_name: default",
        "  data_files:",
        "  - split: train",
        f"    path: {HF_DATA_FILE}",
        "dataset_info:",
        "  features:",
        features.rstrip("\n"),
        "  splits:",
        "  - name: train",
        f"    num_bytes: {sizes.get('num_bytes', 0)}",
        f"    num_examples: {len(records)}",
        f"  download_size: {sizes.get('download_size', 0)}",
        f"  dataset_size: {sizes.get('num_bytes', 0)}",
        "---",
        "",
        f"# {name}",
        "",
        f"Text-to-SQL training data made with sqlfoundry: {len(records)} records over "
        f'{databases} database(s). Load it with `datasets.load_dataset("<this folder>")`.',
        "",
        "| field | content |",
        "| --- | --- |",
        *(f"| `{c}` | {_FIELD_NOTES.get(c, 'carried over from the input')} |" for c in columns),
        "",
    ]
    for key, title in (
        ("sql_component_difficulty", "Component difficulty"),
        ("sql_execution_difficulty", "Execution difficulty"),
    ):
        counts = Counter(r.get(key) for r in records if r.get(key))
        if counts:
            lines += [f"## {title}", "", "| label | records |", "| --- | --- |"]
            lines += [f"| {label} | {n} |" for label, n in sorted(counts.items())]
            lines.append("")
    return "\n".join(lines)


_FIELD_NOTES = {
    "id": "record id, stable across re-runs",
    "db_id": "the database the SQL runs on",
    "question": "the natural-language question",
    "SQL": "the SQL answering it, checked by execution",
    "evidence": "external knowledge the question needs (BIRD style), when given",
    "prompt": "the training prompt: schema, question and instructions",
    "cot_reasoning": "step-by-step reasoning ending in the SQL",
    "sql_component_difficulty": "difficulty from the SQL's components (Spider hardness by default)",
    "sql_execution_difficulty": "difficulty from the pass rate of model answers",
    "meta": "provenance as JSON text: operators, engines, execution summary",
}


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class ExportFormat:
    """One export format: its options model and the writer."""

    name: str
    description: str
    options: type[Params]
    write: Callable[[list[dict[str, Any]], Path, Any, ExportReport], None]


EXPORT_FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat(
            "llamafactory",
            "LlamaFactory alpaca + sharegpt files and dataset_info.json",
            LlamaFactoryOptions,
            _llamafactory,
        ),
        ExportFormat("openai", "OpenAI chat fine-tuning JSONL", OpenAIOptions, _openai),
        ExportFormat(
            "omnisql", "OmniSQL training JSON (input_seq / output_seq)", OmniSQLOptions, _omnisql
        ),  # fmt: skip
        ExportFormat("parquet", "one parquet file, every field", NoOptions, _parquet),
        ExportFormat("hf", "Hugging Face dataset folder (parquet + card)", HFOptions, _hf),
        ExportFormat("jsonl", "JSON lines, every field", JsonlOptions, _jsonl),
        ExportFormat("csv", "CSV, every field, meta as JSON text", NoOptions, _csv),
        ExportFormat(
            "sqlo1",
            "SQL-o1 SFT data: LlamaFactory files (prompt -> bare SQL) and sqlo1_prompts.json",
            Sqlo1Options,
            _sqlo1,
        ),
    )
}


def export_report(
    records: Iterable[Mapping[str, Any] | Sample], fmt: str, out_dir: str | Path, **options: Any
) -> ExportReport:
    """Write ``records`` in format ``fmt`` into ``out_dir``.

    Args:
        records: synthesis output records (dicts) or Samples.
        fmt: a name in :data:`EXPORT_FORMATS`.
        out_dir: the folder to write into (created when missing).
        options: the format's options (see its ``*Options`` model).

    Returns:
        What was written and what was skipped, and why.

    Raises:
        ConfigError: an unknown format or option, or a bad option value.
        MissingDependencyError: parquet/hf without pyarrow.
    """
    spec = EXPORT_FORMATS.get(fmt)
    if spec is None:
        raise ConfigError(
            f"unknown export format {fmt!r}", hint=f"formats: {', '.join(EXPORT_FORMATS)}"
        )
    try:
        opts = spec.options(**options)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        known = ", ".join(spec.options.model_fields) or "none"
        raise ConfigError(
            f"bad options for export format {fmt}: {problems}", hint=f"its options: {known}"
        ) from None
    report = ExportReport(format=fmt)
    rows: list[dict[str, Any]] = []
    for item in records:
        record = _as_record(item)
        if record is None:
            report.skipped["not a record (expected a JSON object)"] += 1
        else:
            rows.append(record)
    out = Path(out_dir)
    check_output(out, folder=True)
    out.mkdir(parents=True, exist_ok=True)
    spec.write(rows, out, opts, report)
    log.info("%s", report.summary())
    return report


def export(
    records: Iterable[Mapping[str, Any] | Sample], fmt: str, out_dir: str | Path, **options: Any
) -> list[Path]:
    """:func:`export_report`, returning only the files written."""
    return export_report(records, fmt, out_dir, **options).files


# --------------------------------------------------------------------------- writing


def _write_text(report: ExportReport, path: Path, text: str) -> None:
    atomic_write_text(path, text)
    report.files.append(path)
