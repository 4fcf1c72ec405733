"""SQL-o1's SFT data: the schema-aware prompt and progressive SQL generation (PSG).

- :mod:`~sqlfoundry.synth.sft.prompt`: the prompt (template ``sqlo1``), the same at
  training and at inference; the tree search renders it through this module too.
- :mod:`~sqlfoundry.synth.sft.psg`: which items get an incomplete query, and where to cut.
- :mod:`~sqlfoundry.synth.sft.operators`: ``sqlo1_prompt``, ``psg_selector``, ``psg_cutter``.
- :mod:`~sqlfoundry.synth.sft.inputs`: a benchmark or a file of pairs as items.
- :mod:`~sqlfoundry.synth.sft.run`: ``prepare_sft``, the pipeline plus the LlamaFactory
  export (format ``sqlo1``) and a LoRA config (:mod:`~sqlfoundry.synth.sft.training`).
"""
