"""The exact prompt of every service type, for a small schema, as the upstream receives it."""

from __future__ import annotations

import pytest
from gateway_testing import answer, upstream

from sqlfoundry.db.manager import DatabaseManager
from sqlfoundry.serve.config import ServiceConfig
from sqlfoundry.serve.prompts import PromptBuilder

QUESTION = "How many singers are from France?"

BASE = (
    "Question: How many singers are from France? <sep> Tables: singer: singer_id , name , country"
    " ; concert: concert_id , title , year , singer_id <sep>"
)
SEQ2SEQ = (
    "Question: How many singers are from France? <sep> Tables: singer: singer_id , name , country"
    " ; concert: concert_id , title , year , singer_id ; primary keys: singer.singer_id ,"
    " concert.concert_id ; foreign keys: concert.singer_id = singer.singer_id <sep>"
)
OPENAI_V1 = """\
### Complete SQLite SQL query only and with no explanation.
### SQLite SQL tables, with their properties:
#
# Table singer, columns = [ singer_id, name, country ]
# Table concert, columns = [ concert_id, title, year, singer_id ]
# Primary_keys = [ singer.singer_id, concert.concert_id ]
# Foreign_keys = [ concert.singer_id = singer.singer_id ]
#
### How many singers are from France?
SELECT"""
OPENAI_V2 = """\
Write one SQLite query that answers the question about the database below. Use only the tables \
and columns defined here, and reply with the SQL query alone, without any explanation.

CREATE TABLE singer (
    singer_id INTEGER, -- example: [1, 2, 3]
    name TEXT, -- example: ['Ada', 'Bo', 'Cy']
    country TEXT, -- example: ['France', 'Chile']
    PRIMARY KEY (singer_id)
);

CREATE TABLE concert (
    concert_id INTEGER, -- example: [10, 11, 12]
    title TEXT, -- example: ['Spring', 'Summer', 'Autumn']
    year INTEGER, -- example: [2019, 2020]
    singer_id INTEGER, -- example: [1, 2]
    PRIMARY KEY (concert_id),
    CONSTRAINT fk_concert_singer_id FOREIGN KEY (singer_id) REFERENCES singer (singer_id)
);

Question: How many singers are from France?
SQL:"""

UP = {"base_url": "http://127.0.0.1:9/v1", "model": "m"}
KINDS = {
    "base": ({"type": "base"}, BASE),
    "seq2seq": ({"type": "seq2seq"}, SEQ2SEQ),
    "openai-v1": ({"type": "openai", "version": "v1"}, OPENAI_V1),
    "openai-v2": ({"type": "openai", "version": "v2"}, OPENAI_V2),
}


@pytest.fixture(scope="module")
def concerts_schema(concerts_root):
    return DatabaseManager(root=concerts_root).schema("concerts", sample_values=3)


@pytest.mark.parametrize("kind", KINDS)
def test_prompt_text_of_each_service_type(kind, concerts_schema):
    settings, expected = KINDS[kind]
    builder = PromptBuilder(ServiceConfig(**settings, upstream=UP))
    messages = builder.messages(QUESTION, builder.schema_text(concerts_schema))
    assert messages == [{"role": "user", "content": expected}]


def test_v2_puts_the_evidence_before_the_question(concerts_schema):
    builder = PromptBuilder(ServiceConfig(type="openai", upstream=UP))
    text = builder.messages(
        QUESTION, builder.schema_text(concerts_schema), evidence="Chile is not France"
    )
    assert text[0]["content"].endswith(
        "\n\nExternal knowledge: Chile is not France\n\nQuestion: How many singers are from France?\nSQL:"
    )


def test_a_template_file_of_your_own(tmp_path, concerts_schema):
    template = tmp_path / "mine.txt"
    template.write_text(
        "# name: mine\n# description: terse\n# variables: dialect, schema, question, db_id\n"
        "@system\nYou write $dialect for $db_id.\n@user\n$schema\n-- $question\n"
    )
    builder = PromptBuilder(
        ServiceConfig(type="openai", template=template, schema_format="compact", upstream=UP)
    )
    messages = builder.messages(QUESTION, builder.schema_text(concerts_schema), db_id="concerts")
    assert messages == [
        {"role": "system", "content": "You write SQLite for concerts."},
        {
            "role": "user",
            "content": SEQ2SEQ.split(" <sep> ")[1].removesuffix(" <sep>")
            + "\n-- How many singers are from France?",
        },
    ]


def test_a_template_with_a_variable_the_gateway_cannot_fill_is_refused(tmp_path):
    from sqlfoundry.core.errors import ConfigError

    template = tmp_path / "bad.txt"
    template.write_text("# name: bad\n# variables: question, mood\n@user\n$question $mood\n")
    with pytest.raises(ConfigError, match="uses mood, which the gateway cannot fill"):
        PromptBuilder(ServiceConfig(type="openai", template=template, upstream=UP))


def test_the_upstream_receives_exactly_these_prompts(fake, gateways, concerts_root):
    services = {name: {**settings, "db_id": "concerts", "examples": 3, "upstream": upstream(fake)}
                for name, (settings, _) in KINDS.items()}  # fmt: skip
    # A base model without a chat template: the prompt goes to /completions as text.
    services["seq2seq-completions"] = {
        **services["seq2seq"],
        "upstream": upstream(fake, api="completions"),
    }
    running = gateways({"gateway": {"db_root": str(concerts_root)}, "services": services})
    seen = answer(fake, "SELECT count(*) FROM singer WHERE country = 'France'")
    client = running.client()
    for name in services:
        reply = client.chat.completions.create(
            model=name, messages=[{"role": "user", "content": QUESTION}]
        )
        assert (
            reply.choices[0].message.content
            == "SELECT count(*) FROM singer WHERE country = 'France'"
        )
        body = seen.bodies[-1]
        assert body["model"] == "fake-model"
        assert body["temperature"] == 0.0
        if name == "seq2seq-completions":
            assert "messages" not in body and body["prompt"] == SEQ2SEQ
        else:
            assert body["messages"] == [{"role": "user", "content": KINDS[name][1]}]


def test_the_question_may_carry_its_own_schema(fake, gateways, concerts_root):
    running = gateways(
        {"services": {"v1": {"type": "openai", "version": "v1", "upstream": upstream(fake)}}}
    )
    seen = answer(fake, "SELECT 1")
    ddl = (
        "CREATE TABLE singer (singer_id INTEGER PRIMARY KEY, name TEXT, country TEXT);\n"
        "CREATE TABLE concert (concert_id INTEGER PRIMARY KEY, title TEXT, year INTEGER,\n"
        "  singer_id INTEGER REFERENCES singer (singer_id));\n"
        f"{QUESTION}"
    )
    running.client().chat.completions.create(
        model="v1", messages=[{"role": "user", "content": ddl}]
    )
    assert seen.prompt == OPENAI_V1
    compact = SEQ2SEQ  # the compact form itself is a valid request
    running.client().chat.completions.create(
        model="v1", messages=[{"role": "user", "content": compact}]
    )
    assert seen.prompt == OPENAI_V1
