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
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import onnx
from onnx import TensorProto, helper

from .graph_ops import MS, Builder, Weights, checked_config, finish_model, layer_norm
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
# SmoothQuant's migration strength for the int8 graph's Q/K/V, attention output and FFN input
# MatMuls (0: none). The hidden states after each LayerNorm have a few channels ~10-20x larger
# than the rest; dividing each input channel by s_j = max|x_j|^0.5 / max|W_j|^0.5 (and
# multiplying the weights' row j by it, the same function) evens out what one per-tensor int8
# scale must span. bench/embed.py: int8 top-10 agreement with fp32 0.896 -> 0.95, cosine 0.995
# -> 0.9985, for one elementwise Mul per MatMul input (the attention output's is folded into
# V's and the output projection's weights).
SMOOTH_ALPHA = 0.5


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


@dataclass(frozen=True)
class Int8Plan:
    """How the graph to quantize differs from the fp32 one (the same function either way).

    fp32_channels: per layer, FFN channels (columns of intermediate.dense, rows of
    output.dense) computed in separate MatMuls named `...fp32.MatMul`, which quantization
    leaves in float.
    smoothing: per layer, per-input-channel divisors s for the inputs of the Q/K/V projection
    ("qkv"), the attention output projection ("o") and the FFN's first projection ("ffn"): the
    input's channel j is divided by s[j] and the weights' row j multiplied by it (SmoothQuant),
    so the few hidden channels that peak far above the rest no longer set the int8 scale alone.
    """

    fp32_channels: Mapping[int, np.ndarray]
    smoothing: Mapping[int, Mapping[str, np.ndarray]] = field(default_factory=dict)


def build_mpnet_graph(
    tensors: Mapping[str, np.ndarray],
    shape: MPNetShape,
    int8: "Int8Plan | Mapping[int, np.ndarray] | None" = None,
    *,
    expose: bool = False,
) -> onnx.ModelProto:
    """The whole encoder as an ONNX model (weights embedded).

    int8: build the graph that cache.py quantizes (Int8Plan; a plain mapping means its
    fp32_channels alone). Without it, the fp32 graph: onnxruntime's fused Attention op with the
    position bias (one op for the Q/K/V projection, the bias, the masked softmax and the head
    merge; 2 ms a layer faster than MatMul + Split + MultiHeadAttention at 272 tokens).
    expose: also output, per layer, the inputs of its MatMuls (`outlier_channels` measures them).
    """
    g = Builder()
    w = Weights(tensors, "MPNet")
    if int8 is not None and not isinstance(int8, Int8Plan):
        int8 = Int8Plan(fp32_channels=int8)
    i64 = lambda *v: np.array(v, dtype=np.int64)  # noqa: E731
    exposed: list[str] = []

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

    def smoothed(value: str, divisor: np.ndarray | None, name: str) -> str:
        return value if divisor is None else g.op("Mul", value, g.const(name, (1.0 / divisor).astype(np.float32)))

    for i in range(shape.layers):
        p = f"encoder.layer.{i}."
        a = p + "attention.attn."
        smooth = int8.smoothing.get(i, {}) if int8 is not None else {}
        if expose:
            exposed.append(x)
        qkv_w = np.concatenate([w[a + f"{n}.weight"].T for n in "qkv"], axis=1)  # (hidden, 3 hidden)
        qkv_b = np.concatenate([w[a + f"{n}.bias"] for n in "qkv"])
        w_o = w[a + "o.weight"].T
        if int8 is None:
            context = g.op("Attention", x, g.const(a + "qkv.weight", np.ascontiguousarray(qkv_w)),
                           g.const(a + "qkv.bias", qkv_b), key_mask, "", bias,
                           name=p + "attention", domain=MS, num_heads=shape.heads)
        else:
            # Q, K and V in one MatMul (quantizable: the fused Attention op would quantize to
            # QAttention, which has no input for MPNet's bias), split for MultiHeadAttention, which
            # adds their biases, the position bias and the key mask itself (onnxruntime's CPU
            # kernel has no packed Q/K/V layout that would spare the Split).
            if "qkv" in smooth:
                qkv_w = qkv_w * smooth["qkv"][:, None]
            if "o" in smooth:  # context channel j is V's column j: divide there, multiply W_o's row j
                hidden = shape.hidden
                qkv_w[:, 2 * hidden:] /= smooth["o"][None, :]
                qkv_b = qkv_b.copy()
                qkv_b[2 * hidden:] /= smooth["o"]
                w_o = w_o * smooth["o"][:, None]
            x_in = smoothed(x, smooth.get("qkv"), a + "qkv.smooth")
            qkv = g.op("MatMul", x_in, g.const(a + "qkv.weight", np.ascontiguousarray(qkv_w, dtype=np.float32)),
                       name=a + "qkv.MatMul")
            q, k, v = g.op("Split", qkv, axis=2, outputs=3)  # equal thirds
            context = g.op("MultiHeadAttention", q, k, v, g.const(a + "qkv.bias", qkv_b.astype(np.float32)), key_mask,
                           bias, name=p + "attention", domain=MS, num_heads=shape.heads)
        if expose:
            exposed.append(context)
        o = g.op("MatMul", context, g.const(a + "o.weight", np.ascontiguousarray(w_o, dtype=np.float32)),
                 name=a + "o.MatMul")
        o = g.op("Add", o, g.const(a + "o.bias", w[a + "o.bias"]))
        x = layer_norm(g, w, g.op("Add", o, x), p + "attention.LayerNorm", shape.eps)
        if expose:
            exposed.append(x)
        ffn_in = smoothed(x, smooth.get("ffn"), p + "intermediate.smooth")
        x = _feed_forward(g, w, ffn_in, x, p, shape.eps, int8.fp32_channels.get(i) if int8 is not None else None,
                          smooth.get("ffn"), exposed if expose else None)

    model = finish_model(g, x, mask, shape.hidden)
    if expose:
        model.graph.output.extend(helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in exposed)
    return model


def outlier_channels(files: ModelFiles, tensors: Mapping[str, np.ndarray], shape: MPNetShape) -> Int8Plan:
    """The int8 graph's plan, measured on CALIBRATION_TEXTS with the fp32 graph.

    Per layer, the FFN channels to keep in fp32: the OUTLIER_CHANNELS whose GELU output reaches
    the largest magnitude. Dynamic int8 quantizes a MatMul's input with one scale per tensor,
    set by its largest value. A few channels of the FFN output projection's input reach 25-100
    where the rest stay below ~8, so with them in, every other channel keeps only a handful of
    int8 steps: cosine to fp32 fell to 0.90 on demo abstracts. Without them it is 0.993.

    And per layer, SmoothQuant divisors for the other MatMuls' inputs (Int8Plan.smoothing):
    s_j = max|x_j|^SMOOTH_ALPHA / max|W_j|^(1 - SMOOTH_ALPHA), from the same texts.
    """
    import onnxruntime as ort

    from .tokenizer import load_tokenizer

    model = build_mpnet_graph(tensors, shape, expose=True)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    tokenizer = load_tokenizer(files)
    kinds = ("qkv", "o", "ffn", "gelu")  # the order build_mpnet_graph exposes them in, per layer
    peak = {kind: np.zeros((shape.layers, shape.intermediate if kind == "gelu" else shape.hidden), dtype=np.float32)
            for kind in kinds}
    for text in CALIBRATION_TEXTS:
        ids = np.asarray([tokenizer.encode(text).ids], dtype=np.int64)
        _, *values = session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})
        for n, value in enumerate(values):
            layer, kind = divmod(n, len(kinds))
            peak[kinds[kind]][layer] = np.maximum(peak[kinds[kind]][layer], np.abs(value[0]).max(axis=0))
    w = Weights(tensors, "MPNet")
    fp32_channels, smoothing = {}, {}
    for layer in range(shape.layers):
        p = f"encoder.layer.{layer}."
        fp32_channels[layer] = np.sort(np.argsort(-peak["gelu"][layer], kind="stable")[:OUTLIER_CHANNELS])
        if not SMOOTH_ALPHA:
            continue
        weights = {  # (in, out) as the MatMuls use them
            "qkv": np.concatenate([w[p + f"attention.attn.{n}.weight"].T for n in "qkv"], axis=1),
            "o": w[p + "attention.attn.o.weight"].T,
            "ffn": w[p + "intermediate.dense.weight"].T,
        }
        smoothing[layer] = {kind: _smoothing(peak[kind][layer], np.abs(weight).max(axis=1))
                            for kind, weight in weights.items()}
    return Int8Plan(fp32_channels=fp32_channels, smoothing=smoothing)


def _smoothing(x_peak: np.ndarray, w_peak: np.ndarray) -> np.ndarray:
    s = np.maximum(x_peak, 1e-5) ** SMOOTH_ALPHA / np.maximum(w_peak, 1e-5) ** (1 - SMOOTH_ALPHA)
    return (s / np.exp(np.log(s).mean())).astype(np.float32)  # geometric mean 1: weights keep their size


def _feed_forward(g: Builder, w: Weights, x_in: str, residual: str, p: str, eps: float, fp32: np.ndarray | None,
                  smooth: np.ndarray | None = None, exposed: list[str] | None = None) -> str:
    """LayerNorm(GELU(x·W1 + b1)·W2 + b2 + x), with the `fp32` channels in MatMuls of their own.

    x_in: x as the MatMul reads it (divided by `smooth` per channel, W1's rows multiplied by it).
    """
    w1, b1 = w[p + "intermediate.dense.weight"].T, w[p + "intermediate.dense.bias"]  # (hidden, inter)
    w2, b2 = w[p + "output.dense.weight"].T, w[p + "output.dense.bias"]  # (inter, hidden)
    if smooth is not None:
        w1 = w1 * smooth[:, None]
    groups = [("", np.arange(w1.shape[1]))]
    if fp32 is not None and len(fp32):
        rest = np.setdiff1d(np.arange(w1.shape[1]), fp32)
        groups = [("", rest), ("fp32.", np.sort(np.asarray(fp32)))]
    out = None
    for tag, cols in groups:
        h = g.op("MatMul", x_in, g.const(p + f"intermediate.dense.{tag}weight", np.ascontiguousarray(w1[:, cols])),
                 name=p + f"intermediate.dense.{tag}MatMul")  # tag "fp32.": FP32_SUFFIX
        gelu = g.op("BiasGelu", h, g.const(p + f"intermediate.dense.{tag}bias", b1[cols]), domain=MS)
        if exposed is not None:
            exposed.append(gelu)
        part = g.op("MatMul", gelu, g.const(p + f"output.dense.{tag}weight", np.ascontiguousarray(w2[cols])),
                    name=p + f"output.dense.{tag}MatMul")
        # The main part's bias first: onnxruntime folds a constant Add into the quantized MatMul.
        out = g.op("Add", part, g.const(p + "output.dense.bias", b2)) if out is None else g.op("Add", out, part)
    return layer_norm(g, w, g.op("Add", out, residual), p + "output.LayerNorm", eps)
