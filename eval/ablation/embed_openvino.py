"""Would OpenVINO make embedding (and so ingestion) faster on this CPU? (session 6)

    .venv/bin/pip install --target /tmp/ovpkgs openvino && rm -rf /tmp/ovpkgs/numpy*
    OVPKGS=/tmp/ovpkgs ROUNDS=2 .venv/bin/python eval/ablation/embed_openvino.py 2 [--bf16] [--tput]

Converts the packaged all-MiniLM-L6-v2 (the transformer inside the sentence-transformers
model) with `openvino.convert_model`, then encodes the chunks of the first 300 SciFact
abstracts both ways in turn (sentence-transformers `encode`, batch 32; OpenVINO on 2 threads,
batches of 32 sorted by length, mean pooling and normalisation as the model does) and prints
chunks/s, the ratio and the cosine of the OpenVINO vectors to the PyTorch ones. openvino is
not a project dependency (250 MB); the script is the measurement behind README's ingestion
paragraph.
"""
import sys, time, warnings
sys.path.append(__import__("os").environ.get("OVPKGS", "/tmp/ovpkgs"))
warnings.filterwarnings("ignore")
import numpy as np, torch
import openvino as ov
from rag.datasets import load_scifact
from rag.embedding import load_embedder
from rag.chunking import chunk_spans

st = load_embedder("all-MiniLM-L6-v2", backend="torch")._model
corpus, _, _ = load_scifact()
docs = [corpus[k] for k in sorted(corpus)][:300]
texts = [d[s:e] for d in docs for s, e in chunk_spans(d)]
print(len(texts), "chunks")
tok = st.tokenizer
bert = st[0].auto_model.eval()
enc = tok(texts[:2], padding=True, truncation=True, max_length=256, return_tensors="pt")
ovm = ov.convert_model(bert, example_input={k: v for k, v in enc.items()})
core = ov.Core()
threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
compiled = core.compile_model(ovm, "CPU", {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "THROUGHPUT" if "--tput" in sys.argv else "LATENCY", "INFERENCE_PRECISION_HINT": "bf16" if "--bf16" in sys.argv else "f32"})
print("inputs", [i.any_name for i in compiled.inputs])

def ov_encode(batch=32):
    out = []
    order = np.argsort([-len(t) for t in texts])
    for i in range(0, len(texts), batch):
        idx = order[i:i+batch]
        e = tok([texts[j] for j in idx], padding=True, truncation=True, max_length=256, return_tensors="np")
        feed = {k: v for k, v in e.items() if k in {x.any_name for x in compiled.inputs}}
        h = compiled(feed)[0]
        m = e["attention_mask"][..., None].astype(np.float32)
        v = (h * m).sum(1) / m.sum(1)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        out.append((idx, v))
    res = np.zeros((len(texts), 384), np.float32)
    for idx, v in out: res[idx] = v
    return res

for rnd in range(int(__import__("os").environ.get("ROUNDS", "2"))):
    t = time.perf_counter(); a = st.encode(texts, batch_size=32, normalize_embeddings=True); ta = time.perf_counter() - t
    t = time.perf_counter(); b = ov_encode(); tb = time.perf_counter() - t
    cos = (a * b).sum(1)
    print(f"round {rnd}: torch {len(texts)/ta:.1f} chunks/s, openvino {len(texts)/tb:.1f} chunks/s, ratio {ta/tb:.2f}; cos min {cos.min():.5f} mean {cos.mean():.5f}", flush=True)
print("precision", compiled.get_property("INFERENCE_PRECISION_HINT"), "threads", compiled.get_property("INFERENCE_NUM_THREADS"))
