"""The LLM layer: everything in sqlfoundry that calls a model goes through here.

- ``LLMConfig``: endpoint, model, sampling, limits (file < env < CLI flags).
- ``LLMClient`` / ``SyncLLMClient``: chat completions and embeddings on any
  OpenAI-compatible endpoint, with the disk cache, retries, rate limits and
  a fail-fast ``preflight``.
- ``run_batch``: thousands of requests, bounded concurrency, per-item errors.
- ``UsageTracker``: calls, tokens, cache hits, retries, failures and cost per operator.
- ``LocalEmbedder`` and the cosine/medoid helpers.
- Prompt templates (``render_prompt``) and output parsers (``parse_sql`` & co).

Importing this package needs no extra; the openai SDK (``[llm]``) and the local
embedder (``[embed]``) are checked when first used.
"""

from sqlfoundry.llm.batch import BatchItem, LLMRequest, run_batch
from sqlfoundry.llm.cache import ResponseCache, request_key
from sqlfoundry.llm.client import LLMClient, SyncLLMClient
from sqlfoundry.llm.config import CLI_FLAGS, ENV_FIELDS, LLMConfig, Price
from sqlfoundry.llm.generation import Generation, TokenLogprob
from sqlfoundry.llm.local_embed import LocalEmbedder
from sqlfoundry.llm.parse import (
    ParseResult,
    pair_sections,
    parse_json,
    parse_sql,
    parse_yes_no,
    strip_thinking,
)
from sqlfoundry.llm.similarity import cosine_similarity, medoid, normalize, top_k
from sqlfoundry.llm.templates import (
    QUESTION_STYLES,
    PromptTemplate,
    load_template,
    prompt_data,
    question_candidates_messages,
    question_generation_messages,
    question_style,
    render_prompt,
    template_names,
)
from sqlfoundry.llm.usage import Usage, UsageStats, UsageTracker, print_usage, render_usage

__all__ = [
    "CLI_FLAGS",
    "ENV_FIELDS",
    "QUESTION_STYLES",
    "BatchItem",
    "Generation",
    "LLMClient",
    "LLMConfig",
    "LLMRequest",
    "LocalEmbedder",
    "ParseResult",
    "Price",
    "PromptTemplate",
    "ResponseCache",
    "SyncLLMClient",
    "TokenLogprob",
    "Usage",
    "UsageStats",
    "UsageTracker",
    "cosine_similarity",
    "load_template",
    "medoid",
    "normalize",
    "pair_sections",
    "parse_json",
    "parse_sql",
    "parse_yes_no",
    "print_usage",
    "prompt_data",
    "question_candidates_messages",
    "question_generation_messages",
    "question_style",
    "render_prompt",
    "render_usage",
    "request_key",
    "run_batch",
    "strip_thinking",
    "template_names",
    "top_k",
]
