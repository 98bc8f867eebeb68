"""The gradient flow recur records (train --diagnose-every) against an independent computation:
PyTorch unrolls the same model (from model.h5, trained one step with --lr 0, so it is the model the
step saw) cell by cell over the first stream window, keeps dL/dh_t of every layer with
retain_grad for L = the mean loss at the window's last step, and averages |dL/dh_t| over the
batch by distance from the window's end.
Usage: grad_flow.py DATA.h5 RUN B T"""
import json, sys
import h5py, numpy as np, torch, torch.nn as nn

def text(v):
    return v.decode() if isinstance(v, bytes) else v

data, run, B, T = h5py.File(sys.argv[1], "r"), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
tok = data["train/tokens"][:].astype(np.int64)
stream_len = (len(tok) - 1) // B
f = h5py.File(run + "/model.h5", "r")
a = f.attrs
cell, L, H, E, V = text(a["cell"]), int(a["layers"]), int(a["hidden"]), int(a["embed"]), int(a["vocab_size"])
W = lambda k: torch.from_numpy(f[k][:]).double()
emb, dec_w, dec_b = W("embedding.weight").requires_grad_(), W("decoder.weight"), W("decoder.bias")
x = torch.tensor(np.stack([tok[s * stream_len: s * stream_len + T] for s in range(B)]))      # (B, T)
y = torch.tensor(np.stack([tok[s * stream_len + 1: s * stream_len + T + 1] for s in range(B)]))

def step(l, inp, h, c):
    wi, wh, bi, bh = W(f"rnn.weight_ih_l{l}"), W(f"rnn.weight_hh_l{l}"), W(f"rnn.bias_ih_l{l}"), W(f"rnn.bias_hh_l{l}")
    gi, gh = inp @ wi.T + bi, h @ wh.T + bh
    if cell == "lstm":
        i, fg, g, o = (gi + gh).chunk(4, 1)
        c = torch.sigmoid(fg) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c
    if cell == "gru":
        ir, iz, inn = gi.chunk(3, 1)
        hr, hz, hn = gh.chunk(3, 1)
        r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
        n = torch.tanh(inn + r * hn)
        return (1 - z) * n + z * h, c
    pre = gi + gh
    return (torch.tanh(pre) if cell == "rnn_tanh" else torch.relu(pre)), c

hs = [[None] * T for _ in range(L)]
inp = [emb[x[:, t]] for t in range(T)]
for l in range(L):
    h = torch.zeros(B, H, dtype=torch.double)
    c = torch.zeros(B, H, dtype=torch.double)
    for t in range(T):
        h, c = step(l, inp[t], h, c)
        h.retain_grad()
        hs[l][t] = h
    inp = hs[l]
logits = torch.stack([hs[L - 1][t] @ dec_w.T + dec_b for t in range(T)], 1)    # (B, T, V)
loss = nn.functional.cross_entropy(logits[:, T - 1], y[:, T - 1], reduction="mean")  # the last step's
loss.backward()

flow = [json.loads(l) for l in open(run + "/metrics.jsonl") if '"grad_flow"' in l][0]["grad_flow"]
worst = 0.0
for l in range(L):
    ref = [hs[l][T - 1 - d].grad.norm(dim=1).mean().item() for d in range(T)]
    got = flow[l]
    assert len(got) == T, (l, len(got), T)
    for d in range(T):
        rel = abs(got[d] - ref[d]) / max(ref[d], 1e-30)
        worst = max(worst, rel)
    print(f"{cell} layer {l}: |dL/dh| at the last step {got[0]:.4e} (torch {ref[0]:.4e}), "
          f"{T - 1} steps back {got[T - 1]:.4e} (torch {ref[T - 1]:.4e})")
print(f"gradient flow = PyTorch's within {worst:.1e} (relative)")
assert worst < 1e-3, worst
