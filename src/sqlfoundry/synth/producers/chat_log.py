"""Chat histories in the OpenAI format, read into conversations of turns and tool calls.

A conversation is a list of messages: ``user`` messages, ``assistant``
messages that may hold ``tool_calls`` (``{"id", "type": "function",
"function": {"name", "arguments"}}``, arguments being a JSON string), and
``tool`` messages answering a call by its ``tool_call_id``. The older
``function_call`` / ``function`` pair is read too; ``system`` and
``developer`` messages are skipped.

A tool call *failed* when its result is a JSON object with a non-empty
``error``, or text starting with ``error``; it is *complete* once a result
came back. Problems stay with the message they are about: a message without a
role, a tool call whose arguments are not JSON. They are reported with their
file:line and message index, and every other message is read.

Files: JSONL with one conversation per line (``{"messages": [...], "db_id": ...}``
or a bare list of messages), or a JSON file holding one conversation, a list
of them, or an object with ``messages``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlfoundry.core.io import input_name, is_stdio, read_text

_SKIPPED_ROLES = {"system", "developer"}


@dataclass
class ToolCall:
    """One tool call of an assistant message, and what came back."""

    name: str
    call_id: str | None
    arguments: dict[str, Any] | None
    raw_arguments: str
    error: str | None = None  # the call itself is malformed
    result: str | None = None  # None: no answer yet (incomplete call)
    failed: bool = False
    failure: str | None = None  # the error the tool answered with

    @property
    def sql(self) -> str | None:
        """The SQL the call passed (its ``sql`` or ``query`` argument), or None."""
        if not isinstance(self.arguments, dict):
            return None
        for key in ("sql", "query"):
            value = self.arguments.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
        return None


@dataclass
class Turn:
    """A user or assistant message: its text, and for the assistant its tool calls."""

    role: str
    text: str
    index: int
    calls: list[ToolCall] = field(default_factory=list)


@dataclass
class Conversation:
    """One chat history, with where it came from.

    Attributes:
        source: ``file:line`` (or ``conversation N`` for in-memory messages).
        label: a short prefix for pair ids (``chats-3``).
        problems: ``(message index, reason)`` for each message that could not be read.
    """

    turns: list[Turn]
    source: str
    label: str
    db_id: str | None = None
    problems: list[tuple[int, str]] = field(default_factory=list)

    def where(self, index: int) -> str:
        """``chats.jsonl:3 message 5``: where one message is."""
        return f"{self.source} message {index}"


def conversation_of(
    messages: Any, *, source: str, label: str, db_id: str | None = None
) -> Conversation:
    """Read one conversation; problems are recorded, never raised."""
    if isinstance(messages, dict):
        db_id = messages.get("db_id") if isinstance(messages.get("db_id"), str) else db_id
        messages = messages.get("messages")
    conversation = Conversation(turns=[], source=source, label=label, db_id=db_id)
    if not isinstance(messages, list):
        conversation.problems.append((0, "no list of messages"))
        return conversation
    calls: dict[str, ToolCall] = {}
    last_call: ToolCall | None = None
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            conversation.problems.append((index, "message is not a JSON object"))
            continue
        role = message.get("role")
        if not isinstance(role, str) or not role:
            conversation.problems.append((index, "message has no role"))
            continue
        if role in _SKIPPED_ROLES:
            continue
        if role == "user":
            conversation.turns.append(Turn("user", _text(message.get("content")), index))
        elif role == "assistant":
            turn = Turn("assistant", _text(message.get("content")), index)
            for raw in _raw_calls(message):
                call = _tool_call(raw)
                turn.calls.append(call)
                if call.call_id:
                    calls[call.call_id] = call
                last_call = call
            conversation.turns.append(turn)
        elif role in ("tool", "function"):
            call = calls.get(str(message.get("tool_call_id") or "")) or (
                last_call if role == "function" or not message.get("tool_call_id") else None
            )
            if call is None:
                conversation.problems.append((index, "tool result answers no known tool call"))
                continue
            _record_result(call, _text(message.get("content")))
        else:
            conversation.problems.append((index, f"unknown role {role!r}"))
    return conversation


def _raw_calls(message: dict[str, Any]) -> list[Any]:
    raw = message.get("tool_calls")
    calls = list(raw) if isinstance(raw, list) else []
    if isinstance(message.get("function_call"), dict):
        calls.append({"type": "function", "function": message["function_call"]})
    return calls


def _tool_call(raw: Any) -> ToolCall:
    function = raw.get("function") if isinstance(raw, dict) else None
    if not isinstance(function, dict):
        return ToolCall("", None, None, json.dumps(raw), error="tool call without a function")
    name = str(function.get("name") or "")
    call_id = raw.get("id") if isinstance(raw.get("id"), str) else None
    arguments = function.get("arguments")
    if isinstance(arguments, dict):  # some logs store the decoded object
        return ToolCall(name, call_id, arguments, json.dumps(arguments))
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    try:
        decoded = json.loads(text)
    except (TypeError, ValueError) as err:
        return ToolCall(name, call_id, None, text, error=f"tool call arguments are not JSON: {err}")
    if not isinstance(decoded, dict):
        return ToolCall(
            name, call_id, None, text, error="tool call arguments are not a JSON object"
        )
    return ToolCall(name, call_id, decoded, text)


def _record_result(call: ToolCall, content: str) -> None:
    call.result = content
    stripped = content.strip()
    try:
        decoded = json.loads(stripped)
    except ValueError:
        decoded = None
    if isinstance(decoded, dict) and decoded.get("error"):
        call.failed, call.failure = True, str(decoded["error"])
    elif stripped.lower().startswith("error"):
        call.failed, call.failure = True, stripped


def _text(content: Any) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content.strip()
    if isinstance(content, list):
        parts = [
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") in ("text", "input_text", "output_text")
        ]
        return " ".join(p.strip() for p in parts if p.strip())
    return ""


def conversations_of(messages: Any, *, db_id: str | None = None) -> list[Conversation]:
    """In-memory messages: one conversation (a list of message dicts), a list of
    conversations (lists, or objects with ``messages``), or ``Conversation`` objects."""
    if isinstance(messages, Conversation):
        return [messages]
    if isinstance(messages, dict):
        return [conversation_of(messages, source="conversation 0", label="chat-0", db_id=db_id)]
    items = list(messages)
    if items and all(isinstance(m, Conversation) for m in items):
        return items
    if items and all(isinstance(m, dict) and "messages" not in m for m in items):
        return [conversation_of(items, source="conversation 0", label="chat-0", db_id=db_id)]
    return [
        item
        if isinstance(item, Conversation)
        else conversation_of(item, source=f"conversation {i}", label=f"chat-{i}", db_id=db_id)
        for i, item in enumerate(items)
    ]


def read_chat_log(
    path: str | Path, db_id: str | None = None
) -> tuple[list[Conversation], list[dict[str, Any]]]:
    """The conversations of a chat log file, and one problem per unreadable line.

    Raises:
        InputError: the file cannot be read at all.
    """
    path = Path(path)
    name, stem = input_name(path), "stdin" if is_stdio(path) else path.stem
    text = read_text(path)
    conversations: list[Conversation] = []
    problems: list[dict[str, Any]] = []
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError as err:
            return [], [
                {"source": f"{name}:{getattr(err, 'lineno', 1)}", "reason": f"invalid JSON: {err}"}
            ]
        items = [data] if isinstance(data, dict) else data
        if (
            isinstance(items, list)
            and items
            and all(isinstance(m, dict) and "role" in m for m in items)
        ):
            items = [items]  # one conversation: a list of messages
        if not isinstance(items, list):
            return [], [{"source": f"{name}:1", "reason": "not a conversation or a list of them"}]
        for i, item in enumerate(items, start=1):
            conversations.append(
                conversation_of(
                    item, source=f"{name} conversation {i}", label=f"{stem}-{i}", db_id=db_id
                )  # fmt: skip
            )
        return conversations, problems
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except ValueError as err:
            problems.append({"source": f"{name}:{number}", "reason": f"invalid JSON: {err}"})
            continue
        conversations.append(
            conversation_of(item, source=f"{name}:{number}", label=f"{stem}-{number}", db_id=db_id)
        )
    return conversations, problems
