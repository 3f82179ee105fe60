"""Build the sentence encoder as an ONNX graph, straight from the safetensors weights.

`build_model` picks the writer from config.json's model_type: BERT here, MPNet in graph_mpnet.py.
The BERT graph is BERT (embeddings, N post-LayerNorm encoder layers with exact-erf GELU) followed by
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
from onnx import TensorProto

from .graph_ops import GRAPH_VERSION, MS, Builder, Weights, checked_config, finish_model, layer_norm, weight_t
from .weights import ModelFiles

__all__ = ["GRAPH_VERSION", "BertShape", "build_graph", "build_model", "check_files", "quantization_plan"]

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
        def absolute(config: dict) -> list[str]:
            return [] if config.get("position_embedding_type", "absolute") == "absolute" else [
                "position embeddings are not absolute"]

        config = checked_config(files, "bert", absolute)
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


def build_graph(tensors: Mapping[str, np.ndarray], shape: BertShape) -> onnx.ModelProto:
    """The whole encoder as an ONNX model (weights embedded)."""
    g = Builder()
    w = Weights(tensors, "BERT")

    # Embeddings. A single sentence always has token type 0, so that row is folded into the
    # position table and the graph needs no token_type_ids input.
    position_table = w["embeddings.position_embeddings.weight"] + w["embeddings.token_type_embeddings.weight"][0]
    words = g.op("Gather", g.const("word_embeddings", w["embeddings.word_embeddings.weight"]), "input_ids")
    seq_len = g.op("Shape", "input_ids", start=1, end=2)
    zero = g.const("zero_1d", np.array([0], dtype=np.int64))
    positions = g.op("Slice", g.const("position_table", position_table), zero, seq_len, zero)
    x = layer_norm(g, w, g.op("Add", words, positions), "embeddings.LayerNorm", shape.eps)

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
        h = g.op("MatMul", x, weight_t(g, w, p + "intermediate.dense"), name=p + "intermediate.dense.MatMul")
        gelu = g.op("BiasGelu", h, g.const(p + "intermediate.dense.bias", w[p + "intermediate.dense.bias"]), domain=MS)
        x = _dense_residual_norm(g, w, gelu, x, p + "output", shape.eps)

    return finish_model(g, x, mask, shape.hidden)


def _dense_residual_norm(g: Builder, w: Weights, x: str, residual: str, prefix: str, eps: float) -> str:
    """LayerNorm(x·W + b + residual), BERT's output block."""
    # The MatMul is named after the weights, so quantization can pick layers by name.
    product = g.op("MatMul", x, weight_t(g, w, prefix + ".dense"), name=prefix + ".dense.MatMul")
    product = g.op("Add", product, g.const(prefix + ".dense.bias", w[prefix + ".dense.bias"]))
    return layer_norm(g, w, g.op("Add", product, residual), prefix + ".LayerNorm", eps)


@dataclass(frozen=True)
class QuantizationPlan:
    """What cache.py's dynamic int8 quantization does: which graph, which ops, what stays fp32."""

    op_types: tuple[str, ...]
    keep_fp32: tuple[str, ...]  # node name suffixes
    fast_gelu: bool  # swap the exact GELU for the tanh one
    own_graph: bool  # quantize build_model(for_int8=True), not the cached fp32 graph
    # What stays fp32 in the graph that embeds search queries beside fp32 papers (None: the
    # int8 graph's choice). A query's vector only has to rank papers as the fp32 one would.
    query_keep_fp32: tuple[str, ...] | None = None


def check_files(files: ModelFiles) -> None:
    """Raise EmbedError unless the model's config describes a graph this package can build."""
    _shape(files)


def build_model(files: ModelFiles, tensors: Mapping[str, np.ndarray], *, for_int8: bool = False) -> onnx.ModelProto:
    """The fp32 graph for `files` (BERT or MPNet by config.json); `for_int8`: the graph to quantize.

    For MPNet the two differ only in how the FFN is split (graph_mpnet.py; same function).
    """
    shape = _shape(files)
    if isinstance(shape, BertShape):
        return build_graph(tensors, shape)
    from .graph_mpnet import build_mpnet_graph, outlier_channels

    return build_mpnet_graph(tensors, shape, outlier_channels(files, tensors, shape) if for_int8 else None)


def quantization_plan(files: ModelFiles) -> QuantizationPlan:
    if isinstance(_shape(files), BertShape):
        # Queries: every MatMul in int8. The layer-0 projection kept for papers costs a query
        # ~0.3 ms of its ~2 (a sixth of the weights read); on the dev sets hybrid nDCG@10 moved
        # -0.008 [-0.018, 0.000] (seeds), -0.001 (Daily Papers), +0.002 (Cranfield): noise.
        return QuantizationPlan(op_types=("MatMul", "Attention"), keep_fp32=tuple(precision_sensitive_matmuls()),
                                fast_gelu=True, own_graph=False, query_keep_fp32=())
    from .graph_mpnet import FP32_SUFFIX

    # MultiHeadAttention has no int8 form; its Q/K/V and output projections are MatMuls.
    return QuantizationPlan(op_types=("MatMul",), keep_fp32=(FP32_SUFFIX,), fast_gelu=False, own_graph=True)


def _shape(files: ModelFiles):
    model_type = files.json("config.json").get("model_type")
    if model_type == "mpnet":
        from .graph_mpnet import MPNetShape

        return MPNetShape.from_files(files)
    return BertShape.from_files(files)
