"""A ready LlamaFactory LoRA SFT config for the prepared data.

``llamafactory-cli train <out>/llamafactory_lora_sft.yaml`` trains on the
alpaca file the preparation wrote, found through its ``dataset_info.json``
(``dataset_dir`` is the output folder). The chat template follows the base
model's family; ``cutoff_len`` covers the longest record, estimated at three
characters per token and rounded up to a multiple of 512.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml

LORA_CONFIG = "llamafactory_lora_sft.yaml"
DEFAULT_BASE_MODEL = "Qwen/Qwen2.5-Coder-7B-Instruct"

# LlamaFactory template names by model family, matched on the lower-cased model name.
_TEMPLATES = (
    ("qwen", "qwen"),
    ("llama-3", "llama3"),
    ("llama3", "llama3"),
    ("codellama", "llama2"),
    ("llama-2", "llama2"),
    ("deepseek-coder", "deepseekcoder"),
    ("deepseek", "deepseek3"),
    ("mistral", "mistral"),
    ("gemma", "gemma"),
    ("phi", "phi"),
)


def chat_template(base_model: str) -> str:
    """LlamaFactory's ``template`` for a base model, ``default`` when the family is unknown."""
    name = base_model.lower()
    return next((template for sign, template in _TEMPLATES if sign in name), "default")


def cutoff_len(texts: Iterable[str]) -> int:
    """A ``cutoff_len`` that fits the longest text: chars / 3, up to a multiple of 512,
    between 1,024 and 32,768."""
    longest = max((len(t) for t in texts), default=0)
    tokens = -(-longest // 3)
    return max(1024, min(32768, -(-tokens // 512) * 512))


def lora_config(
    dataset_dir: Path,
    dataset: str,
    *,
    base_model: str = DEFAULT_BASE_MODEL,
    template: str | None = None,
    cutoff: int = 4096,
    output_dir: str = "saves/sqlo1-lora",
) -> str:
    """The YAML text of a LoRA SFT run on ``dataset`` (a ``dataset_info.json`` entry)."""
    config = {
        "model_name_or_path": base_model,
        "trust_remote_code": True,
        "stage": "sft",
        "do_train": True,
        "finetuning_type": "lora",
        "lora_rank": 16,
        "lora_alpha": 32,
        "lora_dropout": 0.05,
        "lora_target": "all",
        "dataset": dataset,
        "dataset_dir": str(dataset_dir.resolve()),
        "template": template or chat_template(base_model),
        "cutoff_len": cutoff,
        "overwrite_cache": True,
        "preprocessing_num_workers": 8,
        "output_dir": output_dir,
        "logging_steps": 10,
        "save_steps": 500,
        "plot_loss": True,
        "overwrite_output_dir": True,
        "per_device_train_batch_size": 2,
        "gradient_accumulation_steps": 8,
        "learning_rate": 1.0e-4,
        "num_train_epochs": 3.0,
        "lr_scheduler_type": "cosine",
        "warmup_ratio": 0.1,
        "bf16": True,
    }
    header = (
        "# LoRA SFT on SQL-o1's schema-aware data, made by sqlfoundry prepare-sft.\n"
        f"# Train: llamafactory-cli train {dataset_dir.resolve() / LORA_CONFIG}\n"
    )
    return header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
