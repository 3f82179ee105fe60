"""The built .onnx files, cached in the data dir's models/ folder.

Building the fp32 graph takes seconds and quantizing it more, so each is done once per
(model, weights hash, graph version) and reused. A cached file is trusted only if the sha256
recorded beside it (written after the file itself) matches; anything else (half-written, edited,
from a crashed build) is rebuilt. Writes go to a temporary file in the same folder and are then
renamed into place, so a reader never sees a partial file; two processes building at once both
write identical bytes, so the last rename winning is harmless.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Callable

from .errors import EmbedError
from .graph import GRAPH_VERSION, QuantizationPlan, build_model, quantization_plan
from .weights import ModelFiles, sha256_file

log = logging.getLogger(__name__)


def cached_model(cache_dir: Path, files: ModelFiles, weights_sha256: str, *, quantized: bool,
                 for_queries: bool = False) -> Path:
    """Path of a valid .onnx for this model, building (and quantizing) it first if needed;
    `for_queries`: the int8 graph that embeds queries beside fp32 papers, where the model's
    quantization plan has one of its own (else the int8 graph)."""
    cache_dir = Path(cache_dir)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EmbedError(f"cannot create model cache folder {cache_dir}: {exc.strerror}") from exc
    stem = f"{files.spec.name}-{weights_sha256[:16]}-g{GRAPH_VERSION}"
    fp32 = cache_dir / f"{stem}.onnx"
    if not _is_valid(fp32):
        log.info("building %s from %s", fp32.name, files.weights)
        _write_atomically(fp32, lambda tmp: tmp.write_bytes(_build_fp32(files)))
        _remove_older_graphs(cache_dir, files.spec.name, stem)
    if not quantized:
        return fp32
    plan = quantization_plan(files)
    int8 = cache_dir / f"{stem}-int8.onnx"
    if for_queries and plan.query_keep_fp32 is not None:
        plan, int8 = replace(plan, keep_fp32=plan.query_keep_fp32), cache_dir / f"{stem}-int8q.onnx"
    if not _is_valid(int8):
        log.info("quantizing %s to %s", fp32.name, int8.name)
        _write_atomically(int8, lambda tmp: _quantize(files, plan, fp32, tmp))
    return int8


def _remove_older_graphs(cache_dir: Path, model: str, stem: str) -> None:
    """Delete this model's graphs built by older code or weights (~115 MB each, never read again)."""
    ours = re.compile(re.escape(model) + r"-[0-9a-f]{16}-g\d+(-int8q?)?\.onnx(\.sha256)?")
    for path in cache_dir.iterdir():
        if ours.fullmatch(path.name) and not path.name.startswith((stem + ".", stem + "-int8.", stem + "-int8q.")):
            path.unlink(missing_ok=True)


def _build_fp32(files: ModelFiles, *, for_int8: bool = False) -> bytes:
    from safetensors.numpy import load_file

    return build_model(files, load_file(str(files.weights)), for_int8=for_int8).SerializeToString()


def _quantize(files: ModelFiles, plan: QuantizationPlan, fp32: Path, target: Path) -> None:
    """int8 weights (per output channel), activations quantized on the fly: the MatMuls (and
    BERT's Attention); BERT's GELU approximated.

    The embedding table stays fp32 (quantizing the Gather saves memory, not time, and costs
    accuracy), and so do the nodes `plan` names (`keep_fp32`). For MPNet the graph
    quantized is built anew with its FFN outlier channels split off (graph_mpnet.py).
    """
    # Imported here: the quantization tooling is slow to import and only needed once.
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The graph to quantize: the cached fp32 one, or one built for it (written beside the target).
    source = target.with_name(target.name + ".source.onnx") if plan.own_graph else fp32
    logging.disable(logging.WARNING)  # it advises "pre-processing" on the root logger; not for us
    try:
        if plan.own_graph:
            source.write_bytes(_build_fp32(files, for_int8=True))
        keep = [n.name for n in onnx.load(str(source)).graph.node if plan.keep_fp32 and n.name.endswith(plan.keep_fp32)]
        quantize_dynamic(
            source,
            target,
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=list(plan.op_types),
            nodes_to_exclude=keep,
            # Shape inference cannot type the outputs of onnxruntime's own fused ops.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        if not plan.fast_gelu:
            return
        # The tanh-approximated GELU (same inputs: x and the bias) is cheaper than the exact erf
        # one, and its error vanishes under int8's own: cosine to fp32 0.99613 either way, demo
        # top-10 agreement 0.913 against 0.912, 3% more abstracts/s (65.6 against 63.8).
        model = onnx.load(str(target))
        for node in model.graph.node:
            if node.op_type == "BiasGelu":
                node.op_type = "FastGelu"
        onnx.save(model, str(target))
    except OSError:
        raise
    except Exception as exc:  # the quantizer raises plain RuntimeError/ValueError from deep inside
        raise EmbedError(f"onnxruntime cannot quantize {source}: {str(exc).splitlines()[0]}") from exc
    finally:
        logging.disable(logging.NOTSET)
        if source != fp32:
            source.unlink(missing_ok=True)


def _digest_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _is_valid(path: Path) -> bool:
    try:
        recorded = _digest_path(path).read_text().strip()
        actual = sha256_file(path)
    except OSError:
        return False
    if recorded != actual:
        log.warning("cached model %s does not match its recorded sha256; rebuilding", path)
        return False
    return True


def _write_atomically(path: Path, produce: Callable[[Path], None]) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; the web and worker processes may differ in user
    try:
        produce(tmp)
        digest = sha256_file(tmp)
        _fsync(tmp)
        os.replace(tmp, path)
        # The digest is written last: a crash before this line leaves a file that is rebuilt.
        digest_tmp = tmp.with_name(tmp.name + ".sha256")
        digest_tmp.write_text(digest + "\n")
        os.replace(digest_tmp, _digest_path(path))
    except OSError as exc:
        raise EmbedError(f"cannot write cached model {path}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    with path.open("rb") as f:
        os.fsync(f.fileno())


