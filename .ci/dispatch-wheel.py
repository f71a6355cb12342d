"""Ship a dispatch build of llama-cpp-python (GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS) as a
wheel that runs on any x86-64 CPU.

    python .ci/dispatch-wheel.py FOLDER     (FOLDER holds the one wheel pip built; rewritten in place)

The build installs each variant of the CPU backend (``libggml-cpu-haswell.so``, ...) outside
the package, where ggml would not find them: they are moved into ``llama_cpp/lib``, from where
``rag.generation.load_cpu_backend`` registers them. The ``sapphirerapids`` variant is left out:
its AMX kernels fault on machines that list AMX without granting it. RECORD is rewritten.
"""

import base64
import hashlib
import sys
import zipfile
from pathlib import Path

folder = Path(sys.argv[1])
(wheel,) = folder.glob("*.whl")
fixed = folder / (wheel.name + ".tmp")
with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as dst:
    names = src.namelist()
    variants = [n for n in names if Path(n).name.startswith("libggml-cpu-") and n.endswith(".so")]
    if not variants:
        sys.exit("dispatch-wheel.py: the build has no CPU backend variants (GGML_CPU_ALL_VARIANTS?)")
    moved = {n: f"llama_cpp/lib/{Path(n).name}" for n in variants if "sapphirerapids" not in n}
    record_name = next(n for n in names if n.endswith(".dist-info/RECORD"))
    record = []
    for name in names:
        if name == record_name or (name in variants and name not in moved):
            continue
        data = src.read(name)
        target = moved.get(name, name)
        info = src.getinfo(name)
        info.filename = target
        dst.writestr(info, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{target},sha256={digest},{len(data)}")
    record.append(f"{record_name},,")
    dst.writestr(record_name, "\n".join(record) + "\n")
fixed.replace(wheel)
print(f"{wheel.name}: {len(moved)} CPU variants in llama_cpp/lib, {len(variants) - len(moved)} left out")
