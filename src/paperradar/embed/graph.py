"""Build the sentence encoder as an ONNX graph, straight from the safetensors weights.

The graph is BERT (embeddings, N post-LayerNorm encoder layers with exact-erf GELU) followed by
sentence-transformers' mean pooling over the attention mask and L2 normalisation, so one
`session.run` returns finished vectors. Writing it with onnx.helper keeps torch out of the
install: the only inputs are the weights and the model's own config files.

Inputs:  input_ids, attention_mask  int64 [batch, sequence]
Output:  sentence_embedding         float32 [batch, hidden], unit length
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .errors import EmbedError
from .weights import ModelFiles

OPSET = 17  # first opset with LayerNormalization; every onnxruntime we allow runs it
MS = "com.microsoft"  # onnxruntime's contrib ops
# Bump whenever the graph built here (or how cache.py quantizes it) changes, so caches written by
# older code are rebuilt rather than trusted.
GRAPH_VERSION = 4


@dataclass(frozen=True)
class BertShape:
    hidden: int
    heads: int
    layers: int
    intermediate: int
    eps: float

    @classmethod
    def from_files(cls, files: ModelFiles) -> "BertShape":
        """Read config.json and check the model is the BERT + mean pooling this builder knows."""
        config = files.json("config.json")
        pooling = files.json("1_Pooling/config.json")
        name = files.spec.name
        problems = []
        if config.get("model_type") != "bert":
            problems.append(f"model_type {config.get('model_type')!r} is not 'bert'")
        if config.get("hidden_act") != "gelu":
            problems.append(f"hidden_act {config.get('hidden_act')!r} is not 'gelu'")
        if config.get("position_embedding_type", "absolute") != "absolute":
            problems.append("position embeddings are not absolute")
        if not pooling.get("pooling_mode_mean_tokens") or any(
            v for k, v in pooling.items() if k.startswith("pooling_mode_") and k != "pooling_mode_mean_tokens"
        ):
            problems.append("pooling is not plain mean pooling")
        if problems:
            raise EmbedError(f"{name}: cannot build its graph: {'; '.join(problems)}")
        return cls(
            hidden=config["hidden_size"],
            heads=config["num_attention_heads"],
            layers=config["num_hidden_layers"],
            intermediate=config["intermediate_size"],
            eps=float(config["layer_norm_eps"]),
        )


def precision_sensitive_matmuls() -> list[str]:
    """Nodes to keep in fp32 when quantizing: the first layer's FFN output projection.

    Its input is the GELU output, whose few large values stretch the per-tensor int8 range of
    dynamic quantization the most. Keeping it in fp32 lifted top-10 agreement with fp32 search
    on the demo corpus from 0.906 to 0.914 for ~6% of the int8 speed; keeping all six layers'
    in fp32 reached 0.925 but cost a third of the speed (bench/embed.py measures both figures).
    """
    return ["encoder.layer.0.output.dense.MatMul"]


class _Builder:
    """Appends nodes and initializers; every node gets a fresh, readable output name."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._count = 0

    def const(self, name: str, value) -> str:
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, op_type: str, *inputs: str, outputs: int = 1, name: str | None = None, **attrs):
        self._count += 1
        name = name or f"{op_type}_{self._count}"
        names = [name + (f"_{i}" if outputs > 1 else "") for i in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), names, name=name, **attrs))
        return names if outputs > 1 else names[0]


def build_graph(tensors: Mapping[str, np.ndarray], shape: BertShape) -> onnx.ModelProto:
    """The whole encoder as an ONNX model (weights embedded)."""
    g = _Builder()
    w = _Weights(tensors)
    f32 = lambda v: np.asarray(v, dtype=np.float32)  # noqa: E731

    # Embeddings. A single sentence always has token type 0, so that row is folded into the
    # position table and the graph needs no token_type_ids input.
    position_table = w["embeddings.position_embeddings.weight"] + w["embeddings.token_type_embeddings.weight"][0]
    words = g.op("Gather", g.const("word_embeddings", w["embeddings.word_embeddings.weight"]), "input_ids")
    seq_len = g.op("Shape", "input_ids", start=1, end=2)
    zero = g.const("zero_1d", np.array([0], dtype=np.int64))
    positions = g.op("Slice", g.const("position_table", position_table), zero, seq_len, zero)
    x = _layer_norm(g, w, g.op("Add", words, positions), "embeddings.LayerNorm", shape.eps)

    # onnxruntime's fused kernels (com.microsoft domain, all run on CPU): Attention does the
    # Q/K/V projection, the masked softmax and the head merge in one op (no Split/Transpose
    # passes, and quantization turns it into QAttention, so Q/K/V run in int8 too); BiasGelu is
    # the exact-erf GELU with its bias. fp32 runs as fast as the plain-op graph did; int8 went
    # from 37.6 to 64 abstracts/s with the batching in `Embedder` (bench/embed.py).
    mask = g.op("Cast", "attention_mask", to=TensorProto.FLOAT)
    mask_index = g.op("Cast", "attention_mask", to=TensorProto.INT32)  # (B, S): 1 = real token

    for i in range(shape.layers):
        p = f"encoder.layer.{i}."
        qkv_w = np.concatenate(
            [w[p + f"attention.self.{n}.weight"].T for n in ("query", "key", "value")], axis=1)
        qkv_b = np.concatenate([w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")])
        context = g.op(
            "Attention", x, g.const(p + "qkv.weight", np.ascontiguousarray(qkv_w)), g.const(p + "qkv.bias", qkv_b),
            mask_index, name=p + "attention", domain=MS, num_heads=shape.heads,
        )
        x = _dense_residual_norm(g, w, context, x, p + "attention.output", shape.eps)
        h = g.op("MatMul", x, _weight_t(g, w, p + "intermediate.dense"), name=p + "intermediate.dense.MatMul")
        gelu = g.op("BiasGelu", h, g.const(p + "intermediate.dense.bias", w[p + "intermediate.dense.bias"]), domain=MS)
        x = _dense_residual_norm(g, w, gelu, x, p + "output", shape.eps)

    # Mean over real tokens (as sentence-transformers' Pooling), then unit length (its Normalize).
    mask3 = g.op("Unsqueeze", mask, g.const("axis_2", np.array([2], dtype=np.int64)))
    axis1 = g.const("axis_1", np.array([1], dtype=np.int64))
    summed = g.op("ReduceSum", g.op("Mul", x, mask3), axis1, keepdims=0)
    counts = g.op("Max", g.op("ReduceSum", mask3, axis1, keepdims=0), g.const("min_count", f32(1e-9)))
    mean = g.op("Div", summed, counts)
    norm = g.op("Sqrt", g.op("ReduceSum", g.op("Mul", mean, mean), axis1, keepdims=1))
    norm = g.op("Max", norm, g.const("min_norm", f32(1e-12)))
    g.nodes.append(helper.make_node("Div", [mean, norm], ["sentence_embedding"], name="normalize"))

    graph = helper.make_graph(
        g.nodes,
        "sentence_encoder",
        inputs=[
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"]),
        ],
        outputs=[helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", shape.hidden])],
        initializer=g.initializers,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(MS, 1)], producer_name="paperradar")
    model.ir_version = 8  # readable by onnxruntime >= 1.14
    onnx.checker.check_model(model)
    return model


class _Weights:
    """The safetensors tensors as float32, with a clear error for a missing name."""

    def __init__(self, tensors: Mapping[str, np.ndarray]) -> None:
        self._tensors = tensors

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return np.asarray(self._tensors[name], dtype=np.float32)
        except KeyError:
            raise EmbedError(f"weights have no tensor {name!r}; is this a BERT model?") from None


def _weight_t(g: _Builder, w: _Weights, prefix: str) -> str:
    # torch stores Linear weights as (out, in); MatMul wants (in, out).
    return g.const(prefix + ".weight", np.ascontiguousarray(w[prefix + ".weight"].T))


def _dense_residual_norm(g: _Builder, w: _Weights, x: str, residual: str, prefix: str, eps: float) -> str:
    """LayerNorm(x·W + b + residual), BERT's output block."""
    # The MatMul is named after the weights, so quantization can pick layers by name.
    product = g.op("MatMul", x, _weight_t(g, w, prefix + ".dense"), name=prefix + ".dense.MatMul")
    product = g.op("Add", product, g.const(prefix + ".dense.bias", w[prefix + ".dense.bias"]))
    return _layer_norm(g, w, g.op("Add", product, residual), prefix + ".LayerNorm", eps)


def _layer_norm(g: _Builder, w: _Weights, x: str, prefix: str, eps: float) -> str:
    return g.op(
        "LayerNormalization", x, g.const(prefix + ".weight", w[prefix + ".weight"]),
        g.const(prefix + ".bias", w[prefix + ".bias"]), axis=-1, epsilon=eps,
    )
