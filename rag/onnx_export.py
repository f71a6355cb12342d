"""Export a sentence-transformers model to ONNX, fused and quantised to int8, offline.

The packaged all-MiniLM-L6-v2 runs through PyTorch at about 50 chunks/s on two cores. The
same network exported to ONNX, with ONNX Runtime's BERT fusions (attention, GELU, layer
norm) and dynamic int8 quantisation of its matrix products (per channel; this CPU has
AVX-512 VNNI), encodes the same chunks about twice as fast in batches of 8, with vectors
whose cosine to the PyTorch ones is 0.986 at worst. That is close but not equal: SciFact's
hybrid nDCG@10 falls from 0.707 to 0.698 and 6 seed answers of 62 are lost, so it is an
option (``RAG_EMBED_BACKEND=onnx-int8``) for large collections, not the default
(docs/experiments.md). The export needs torch and runs once per model file, in about 10 s; the
result is cached, and loading it needs neither torch nor transformers.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .errors import ModelError

OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def cached_path(folder: Path, cache: Path) -> Path:
    """Where the int8 export of the model in ``folder`` lives: keyed by the weights file's
    size and modification time and by the ONNX Runtime version that quantised it."""
    import onnxruntime

    weights = _weights(folder)
    stat = weights.stat()
    key = f"{stat.st_size:x}-{stat.st_mtime_ns:x}-ort{onnxruntime.__version__}"
    return cache / "onnx" / f"{folder.name or 'model'}-{key}.int8.onnx"


def pooling(folder: Path) -> tuple[str, bool, int]:
    """``(mode, normalize, max_tokens)`` of the sentence-transformers model in ``folder``:
    mode is "mean" or "cls"."""
    modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    kinds = {m["type"].rsplit(".", 1)[-1]: m.get("path", "") for m in modules}
    mode = "mean"
    if "Pooling" in kinds:
        config = json.loads((folder / kinds["Pooling"] / "config.json").read_text(encoding="utf-8"))
        if config.get("pooling_mode_cls_token"):
            mode = "cls"
        elif not config.get("pooling_mode_mean_tokens", True):
            raise ModelError(
                f"The embedding model in {folder} pools in a way the ONNX backend does not "
                "support: set RAG_EMBED_BACKEND=torch."
            )
    config_file = folder / "sentence_bert_config.json"
    limit = 256
    if config_file.is_file():
        limit = int(
            json.loads(config_file.read_text(encoding="utf-8")).get("max_seq_length") or 256
        )
    return mode, "Normalize" in kinds, limit


def export_int8(folder: Path, target: Path) -> Path:
    """Export, fuse and quantise the transformer in ``folder`` to ``target``, atomically:
    the file appears whole or not at all, so a crash never leaves a half-written model."""
    import logging
    import warnings

    from transformers.utils import logging as hf_logging

    target.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    level = root.level
    hf_logging.disable_progress_bar()
    try:
        with tempfile.TemporaryDirectory(prefix="rag-onnx-", dir=target.parent) as work:
            tmp = Path(work)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                root.setLevel(logging.ERROR)  # onnxruntime's advice printed at WARNING
                _export_fp32(folder, tmp / "fp32.onnx")
                _fuse(folder, tmp / "fp32.onnx", tmp / "fused.onnx")
                _quantize(tmp / "fused.onnx", tmp / "int8.onnx")
            os.replace(tmp / "int8.onnx", target)
    except (OSError, RuntimeError, ValueError) as exc:
        raise ModelError(
            f"Could not export the embedding model in {folder} to ONNX ({exc}): "
            "set RAG_EMBED_BACKEND=torch to use it through PyTorch."
        ) from None
    finally:
        root.setLevel(level)
    return target


def _weights(folder: Path) -> Path:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (folder / name).is_file():
            return folder / name
    raise ModelError(
        f"No model weights in {folder}: set RAG_EMBED_MODEL to a sentence-transformers folder."
    )


def _export_fp32(folder: Path, out: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(str(folder), attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    sample = tokenizer(
        ["a short text", "a somewhat longer text to export"], padding=True, return_tensors="pt"
    )
    names = [n for n in INPUTS if n in sample]

    class Encoder(torch.nn.Module):  # positional inputs in a fixed order, one output
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *args: Any) -> Any:
            return self.inner(**dict(zip(names, args))).last_hidden_state

    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]}
    with torch.no_grad():
        torch.onnx.export(
            Encoder(model),
            tuple(sample[n] for n in names),
            str(out),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )


def _fuse(folder: Path, source: Path, out: Path) -> None:
    """ONNX Runtime's BERT fusions; a model they do not fit is kept as exported."""
    from onnxruntime.transformers import optimizer

    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    heads, hidden = config.get("num_attention_heads", 0), config.get("hidden_size", 0)
    if config.get("model_type") != "bert" or not heads or not hidden:
        os.replace(source, out)
        return
    fused = optimizer.optimize_model(
        str(source), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1
    )
    fused.save_model_to_file(str(out))


def _quantize(source: Path, out: Path) -> None:
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(source),
        str(out),
        per_channel=True,
        weight_type=QuantType.QInt8,
        extra_options={"DefaultTensorType": TensorProto.FLOAT},  # fused ops lack type info
    )
