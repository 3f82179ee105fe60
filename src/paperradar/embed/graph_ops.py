"""What the BERT and MPNet graph writers share: node building, weights, LayerNorm, pooling.

Both encoders end the same way (sentence-transformers' mean pooling over the attention mask, then
L2 normalisation), so one `session.run` returns finished vectors from either graph.
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .errors import EmbedError

OPSET = 17  # first opset with LayerNormalization; every onnxruntime we allow runs it
MS = "com.microsoft"  # onnxruntime's contrib ops
# Bump whenever a graph built here (or how cache.py quantizes it) changes, so caches written by
# older code are rebuilt rather than trusted.
GRAPH_VERSION = 5  # 5: MPNet's fp32 graph uses Attention, its int8 graph SmoothQuant


class Builder:
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


class Weights:
    """The safetensors tensors as float32, with a clear error for a missing name."""

    def __init__(self, tensors: Mapping[str, np.ndarray], architecture: str) -> None:
        self._tensors = tensors
        self._architecture = architecture

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return np.asarray(self._tensors[name], dtype=np.float32)
        except KeyError:
            raise EmbedError(f"weights have no tensor {name!r}; is this a {self._architecture} model?") from None


def weight_t(g: Builder, w: Weights, prefix: str) -> str:
    # torch stores Linear weights as (out, in); MatMul wants (in, out).
    return g.const(prefix + ".weight", np.ascontiguousarray(w[prefix + ".weight"].T))


def layer_norm(g: Builder, w: Weights, x: str, prefix: str, eps: float) -> str:
    return g.op(
        "LayerNormalization", x, g.const(prefix + ".weight", w[prefix + ".weight"]),
        g.const(prefix + ".bias", w[prefix + ".bias"]), axis=-1, epsilon=eps,
    )


def finish_model(g: Builder, x: str, mask: str, hidden: int) -> onnx.ModelProto:
    """Mean over real tokens (as sentence-transformers' Pooling), unit length (its Normalize), the model.

    x: the encoder's last hidden state (B, S, hidden); mask: the attention mask as float (B, S).
    """
    f32 = lambda v: np.asarray(v, dtype=np.float32)  # noqa: E731
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
        outputs=[helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", hidden])],
        initializer=g.initializers,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(MS, 1)], producer_name="paperradar")
    model.ir_version = 8  # readable by onnxruntime >= 1.14
    onnx.checker.check_model(model)
    return model


def checked_config(files, model_type: str, check: Callable[[dict], list[str]] = lambda config: []) -> dict:
    """The model's config.json, once it is known to be `model_type` with exact GELU, whatever
    `check(config)` adds, and sentence-transformers' plain mean pooling; else one EmbedError
    naming every problem."""
    config = files.json("config.json")
    pooling = files.json("1_Pooling/config.json")
    problems = []
    if config.get("model_type") != model_type:
        problems.append(f"model_type {config.get('model_type')!r} is not {model_type!r}")
    if config.get("hidden_act") != "gelu":
        problems.append(f"hidden_act {config.get('hidden_act')!r} is not 'gelu'")
    problems += check(config)
    if not pooling.get("pooling_mode_mean_tokens") or any(
        v for k, v in pooling.items() if k.startswith("pooling_mode_") and k != "pooling_mode_mean_tokens"
    ):
        problems.append("pooling is not plain mean pooling")
    if problems:
        raise EmbedError(f"{files.spec.name}: cannot build its graph: {'; '.join(problems)}")
    return config
