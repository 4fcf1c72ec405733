"""A test operator that asks the endpoint once per record (the record's id is the prompt);
a failed request becomes a reject naming the reason."""

from __future__ import annotations

from sqlfoundry.core.errors import LLMItemError
from sqlfoundry.core.operator import Operator, StepOutput


class AskOnce(Operator):
    name = "ask_once"

    async def process(self, batch, ctx) -> StepOutput:
        out = StepOutput()
        for sample in batch:
            try:
                (answer,) = await ctx.llm.generate([{"role": "user", "content": sample.id}])
            except LLMItemError as err:
                out.rejects.append(self.reject(sample, f"llm request failed: {err.message}"))
                continue
            out.samples.append(sample.model_copy(update={"question": answer.text}))
        return out
