"""PyTorch generating with a recur model's weights, one stream (batch 1), one thread: a loop of
nn.LSTM/GRU steps, embedding in, linear readout, softmax, a draw. And the bound the weights' bytes
per token allow at the bandwidth measured here for data of their size.
usage: bench_sample.py MODEL.h5 TOKENS"""
import sys, time
import h5py, numpy as np, torch, torch.nn as nn

torch.set_num_threads(1)
f = h5py.File(sys.argv[1], "r")
n = int(sys.argv[2])
a = f.attrs
text = lambda v: v.decode() if isinstance(v, bytes) else str(v)
cell, L, H, E, V = text(a["cell"]), int(a["layers"]), int(a["hidden"]), int(a["embed"]), int(a["vocab_size"])
emb = nn.Embedding(V, E)
rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell](E, H, L)
dec = nn.Linear(H, V)
with torch.no_grad():
    emb.weight.copy_(torch.from_numpy(f["embedding.weight"][:]))
    for name, p in rnn.named_parameters():
        p.copy_(torch.from_numpy(f["rnn." + name][:]))
    dec.weight.copy_(torch.from_numpy(f["decoder.weight"][:]))
    dec.bias.copy_(torch.from_numpy(f["decoder.bias"][:]))


def run(steps):
    g = torch.Generator().manual_seed(1)
    x, state = torch.zeros(1, 1, dtype=torch.long), None
    for _ in range(steps):
        out, state = rnn(emb(x), state)
        p = torch.softmax(dec(out[0, 0]), -1)
        x = torch.multinomial(p, 1, generator=g).view(1, 1)


with torch.no_grad():
    run(50)
    best = 1e9
    for _ in range(3):
        t0 = time.perf_counter()
        run(n)
        best = min(best, time.perf_counter() - t0)
per = best / n
weights = sum(p.numel() for p in rnn.parameters()) + dec.weight.numel() + dec.bias.numel()
nbytes = 4 * weights + 4 * E  # every weight once a token, and the input's embedding row
# bandwidth: OpenBLAS's sasum (vector loads, one thread) over an array of the weights' size (it
# stays in cache as generation's weights do) and one of 1 GiB (memory), best of several passes.
# numpy's own sum is no measure: its pairwise float sum is bound by its arithmetic (25 GB/s on Zen 4,
# where sasum reads the same 13.4 MB at 92)
import ctypes
blas = ctypes.CDLL("libopenblas.so.0")
blas.cblas_sasum.restype = ctypes.c_float
blas.cblas_sasum.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
def bw(size):
    x = np.ones(size // 4, dtype=np.float32)
    read = lambda: blas.cblas_sasum(x.size, x.ctypes.data, 1)
    read()
    reps = max(1, int(2e9 // size))
    b = 1e9
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(reps):
            read()
        b = min(b, (time.perf_counter() - t0) / reps)
    return size / b
cache_bw, mem_bw = bw(nbytes), bw(1 << 30)
print(f"torch {torch.__version__}: {1 / per:,.0f} tokens/s, {per * 1e6:.0f} us a token")
print(f"weights {nbytes / 1e6:.1f} MB a token; read at {cache_bw / 1e9:.1f} GB/s (an array of that size) "
      f"-> bound {cache_bw / nbytes:,.0f} tokens/s; at memory's {mem_bw / 1e9:.1f} GB/s -> {mem_bw / nbytes:,.0f}")
