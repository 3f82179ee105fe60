"""The MPNet encoder (all-mpnet-base-v2) as an ONNX graph, straight from the safetensors weights.

MPNet is BERT-shaped (post-LayerNorm layers, exact-erf GELU) but differs in three ways, each
checked against transformers' modeling_mpnet.py and its sentence-transformers vectors
(tests/test_embed_mpnet.py):

- no token type embeddings;
- position ids count real tokens from padding_idx + 1 (RoBERTa style), so a padded row's
  positions do not depend on its padding;
- every layer adds a relative position bias to its attention scores: T5-style buckets of the
  key-minus-query distance (32 buckets, bidirectional, exact up to 8, logarithmic up to 128),
  looked up in one learned (buckets, heads) table that all layers share.

The bucket of every (query, key) pair is computed here in numpy for the longest sequence the
position table allows, and the graph slices its top-left (S, S) corner, so the graph holds no
Python arithmetic that depends on the input.

Inputs/output as graph.py's BERT graph.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import onnx
from onnx import TensorProto, helper

from .graph_ops import MS, Builder, Weights, checked_config, finish_model, layer_norm, weight_t
from .weights import ModelFiles

PADDING_IDX = 1  # fixed in transformers' MPNetEmbeddings, whatever the config says
FP32_SUFFIX = ".fp32.MatMul"  # MatMuls whose names end so stay fp32 in the int8 graph
# Per layer. Found with these six texts, 16 channels left the empty text at cosine 0.974 to fp32;
# 32 give >= 0.99 on every fixture text (mean 0.993 over demo abstracts and titles) for ~1% of
# the FFN's work in fp32.
OUTLIER_CHANNELS = 32
# What the outlier channels are measured on. They are a property of the weights (the same few
# channels peak whatever the text), so a few texts of the kinds we embed find them.
CALIBRATION_TEXTS = [
    "reconstructing images from shared gradients",
    "Attention Is All You Need. We propose a new network architecture based solely on attention "
    "mechanisms, dispensing with recurrence and convolutions entirely. Experiments on two machine "
    "translation tasks show these models to be superior in quality while being more parallelizable.",
    "Deep Leakage from Gradients. Exchanging gradients is a widely used method in modern multi-node "
    "machine learning systems such as federated learning. We show that private training data can be "
    "recovered from the publicly shared gradients, pixel-wise for images and token-wise for texts.",
    "Mixture-of-experts routing for sparse large language models",
    "Joint inversion of CO$_2$ plumes with $\\alpha$-divergence",
    "",
]


@dataclass(frozen=True)
class MPNetShape:
    hidden: int
    heads: int
    layers: int
    intermediate: int
    eps: float
    buckets: int
    max_positions: int  # rows of the position table

    @classmethod
    def from_files(cls, files: ModelFiles) -> "MPNetShape":
        """Read config.json and check the model is the MPNet + mean pooling this builder knows."""
        def buckets(config: dict) -> list[str]:
            # transformers computes the bias with its default of 32 buckets whatever the config says.
            return ["relative_attention_num_buckets is not 32"] if config.get("relative_attention_num_buckets", 32) != 32 else []

        config = checked_config(files, "mpnet", buckets)
        return cls(
            hidden=config["hidden_size"],
            heads=config["num_attention_heads"],
            layers=config["num_hidden_layers"],
            intermediate=config["intermediate_size"],
            eps=float(config["layer_norm_eps"]),
            buckets=32,
            max_positions=config["max_position_embeddings"],
        )

    @property
    def max_sequence(self) -> int:
        return self.max_positions - PADDING_IDX - 1  # positions start at PADDING_IDX + 1


def relative_position_buckets(length: int, num_buckets: int = 32, max_distance: int = 128) -> np.ndarray:
    """(length, length) int64: the bias bucket of key j seen from query i, as transformers computes it.

    A transcription of MPNetEncoder.relative_position_bucket, in float32 like its torch original so
    that distances on a bucket boundary round the same way.
    """
    positions = np.arange(length, dtype=np.int64)
    n = positions[:, None] - positions[None, :]  # query - key, i.e. -(key - query)
    half = num_buckets // 2
    bucket = (n < 0).astype(np.int64) * half  # keys after the query get the upper half
    n = np.abs(n)
    max_exact = half // 2
    is_small = n < max_exact
    with np.errstate(divide="ignore"):  # log(0) on the diagonal, which is_small discards
        scaled = (np.log(n.astype(np.float32) / np.float32(max_exact))
                  / np.float32(math.log(max_distance / max_exact)) * np.float32(half - max_exact))
    large = np.minimum(max_exact + np.where(is_small, 0, scaled).astype(np.int64), half - 1)
    return bucket + np.where(is_small, n, large)


def build_mpnet_graph(
    tensors: Mapping[str, np.ndarray],
    shape: MPNetShape,
    fp32_channels: Mapping[int, np.ndarray] | None = None,
    *,
    expose_ffn: bool = False,
) -> onnx.ModelProto:
    """The whole encoder as an ONNX model (weights embedded).

    fp32_channels: for some layers, FFN channels (columns of intermediate.dense, rows of
    output.dense) to compute in separate MatMuls named `...fp32.MatMul`, which quantization then
    leaves in float; the sum is the same function, so the fp32 graph is unchanged by it.
    expose_ffn: also output each layer's GELU output (B, S, intermediate), for `outlier_channels`.
    """
    g = Builder()
    w = Weights(tensors, "MPNet")
    fp32_channels = fp32_channels or {}
    i64 = lambda *v: np.array(v, dtype=np.int64)  # noqa: E731

    # Embeddings: word + position, positions 2, 3, ... over real tokens (padding_idx where masked).
    words = g.op("Gather", g.const("word_embeddings", w["embeddings.word_embeddings.weight"]), "input_ids")
    counted = g.op("Mul", g.op("CumSum", "attention_mask", g.const("axis_1_scalar", np.array(1, dtype=np.int64))),
                   "attention_mask")
    position_ids = g.op("Add", counted, g.const("padding_idx", np.array(PADDING_IDX, dtype=np.int64)))
    positions = g.op("Gather", g.const("position_table", w["embeddings.position_embeddings.weight"]), position_ids)
    x = layer_norm(g, w, g.op("Add", words, positions), "embeddings.LayerNorm", shape.eps)

    # The relative position bias, once for all layers: (1, heads, S, S).
    seq_len = g.op("Shape", "input_ids", start=1, end=2)
    corner = g.op(
        "Slice", g.const("bucket_table", relative_position_buckets(shape.max_sequence)),
        g.const("zeros_2", i64(0, 0)), g.op("Concat", seq_len, seq_len, axis=0), g.const("axes_01", i64(0, 1)))
    bias = g.op("Gather", g.const("relative_attention_bias", w["encoder.relative_attention_bias.weight"]), corner)
    bias = g.op("Unsqueeze", g.op("Transpose", bias, perm=[2, 0, 1]), g.const("axis_0", i64(0)))

    mask = g.op("Cast", "attention_mask", to=TensorProto.FLOAT)
    key_mask = g.op("Cast", "attention_mask", to=TensorProto.INT32)  # (B, S): 1 = real token
    # Q, K and V in one MatMul (quantizable: onnxruntime's fused Attention op would quantize to
    # QAttention, which has no input for MPNet's bias), split for MultiHeadAttention, which adds
    # their biases, the position bias and the key mask itself (onnxruntime's CPU kernel has no
    # packed Q/K/V layout that would spare the Split).
    for i in range(shape.layers):
        p = f"encoder.layer.{i}."
        a = p + "attention.attn."
        qkv_w = np.concatenate([w[a + f"{n}.weight"].T for n in "qkv"], axis=1)
        qkv_b = np.concatenate([w[a + f"{n}.bias"] for n in "qkv"])
        qkv = g.op("MatMul", x, g.const(a + "qkv.weight", np.ascontiguousarray(qkv_w)), name=a + "qkv.MatMul")
        q, k, v = g.op("Split", qkv, axis=2, outputs=3)  # equal thirds
        context = g.op("MultiHeadAttention", q, k, v, g.const(a + "qkv.bias", qkv_b), key_mask, bias,
                       name=p + "attention", domain=MS, num_heads=shape.heads)
        o = g.op("MatMul", context, weight_t(g, w, a + "o"), name=a + "o.MatMul")
        o = g.op("Add", o, g.const(a + "o.bias", w[a + "o.bias"]))
        x = layer_norm(g, w, g.op("Add", o, x), p + "attention.LayerNorm", shape.eps)
        x = _feed_forward(g, w, x, p, shape.eps, fp32_channels.get(i))

    model = finish_model(g, x, mask, shape.hidden)
    if expose_ffn:
        gelus = [node.output[0] for node in model.graph.node if node.op_type == "BiasGelu"]
        model.graph.output.extend(helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in gelus)
    return model


def outlier_channels(files: ModelFiles, tensors: Mapping[str, np.ndarray], shape: MPNetShape) -> dict[int, np.ndarray]:
    """Per layer, the FFN channels to keep in fp32 in the int8 graph: the OUTLIER_CHANNELS whose
    GELU output reaches the largest magnitude on CALIBRATION_TEXTS.

    Dynamic int8 quantizes a MatMul's input with one scale per tensor, set by its largest value.
    A few channels of the FFN output projection's input reach 25-100 where the rest stay below
    ~8, so with them in, every other channel keeps only a handful of int8 steps: cosine to fp32
    fell to 0.90 on demo abstracts. Without them it is 0.993 (bench/embed.py).
    """
    import onnxruntime as ort

    from .tokenizer import load_tokenizer

    model = build_mpnet_graph(tensors, shape, expose_ffn=True)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    tokenizer = load_tokenizer(files)
    peak = np.zeros((shape.layers, shape.intermediate), dtype=np.float32)
    for text in CALIBRATION_TEXTS:
        ids = np.asarray([tokenizer.encode(text).ids], dtype=np.int64)
        _, *gelus = session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})
        for layer, values in enumerate(gelus):
            peak[layer] = np.maximum(peak[layer], np.abs(values[0]).max(axis=0))
    return {layer: np.sort(np.argsort(-peak[layer], kind="stable")[:OUTLIER_CHANNELS]) for layer in range(shape.layers)}


def _feed_forward(g: Builder, w: Weights, x: str, p: str, eps: float, fp32: np.ndarray | None) -> str:
    """LayerNorm(GELU(x·W1 + b1)·W2 + b2 + x), with the `fp32` channels in MatMuls of their own."""
    w1, b1 = w[p + "intermediate.dense.weight"].T, w[p + "intermediate.dense.bias"]  # (hidden, inter)
    w2, b2 = w[p + "output.dense.weight"].T, w[p + "output.dense.bias"]  # (inter, hidden)
    groups = [("", np.arange(w1.shape[1]))]
    if fp32 is not None and len(fp32):
        rest = np.setdiff1d(np.arange(w1.shape[1]), fp32)
        groups = [("", rest), ("fp32.", np.sort(np.asarray(fp32)))]
    out = None
    for tag, cols in groups:
        h = g.op("MatMul", x, g.const(p + f"intermediate.dense.{tag}weight", np.ascontiguousarray(w1[:, cols])),
                 name=p + f"intermediate.dense.{tag}MatMul")  # tag "fp32.": FP32_SUFFIX
        gelu = g.op("BiasGelu", h, g.const(p + f"intermediate.dense.{tag}bias", b1[cols]), domain=MS)
        part = g.op("MatMul", gelu, g.const(p + f"output.dense.{tag}weight", np.ascontiguousarray(w2[cols])),
                    name=p + f"output.dense.{tag}MatMul")
        out = part if out is None else g.op("Add", out, part)
    out = g.op("Add", out, g.const(p + "output.dense.bias", b2))
    return layer_norm(g, w, g.op("Add", out, x), p + "output.LayerNorm", eps)
