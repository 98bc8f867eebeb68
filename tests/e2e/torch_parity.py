"""Load recur model.h5 files into PyTorch (nn.Embedding, nn.LSTM/GRU/RNN, nn.Linear) by name with
h5py, read the dataset with h5py, and check the loss PyTorch computes on the val split against
`recur eval --json`. Usage: torch_parity.py DATA.h5 EVAL.json MODEL.h5 [EVAL.json MODEL.h5 ...]"""
import json, sys
import h5py, numpy as np, torch, torch.nn as nn

data = h5py.File(sys.argv[1], "r")
assert data.attrs["format"] == "recur-dataset"
tok = data["val/tokens"][:].astype(np.int64)
off = data["val/offsets"][:]
eos = int(data.attrs["eos_id"])
worst = 0.0
for ev_path, path in zip(sys.argv[2::2], sys.argv[3::2]):
    f = h5py.File(path, "r")
    a = f.attrs
    cell, L, H, E, V = a["cell"], int(a["layers"]), int(a["hidden"]), int(a["embed"]), int(a["vocab_size"])
    if isinstance(cell, bytes): cell = cell.decode()
    rnn = {"lstm": lambda: nn.LSTM(E, H, L), "gru": lambda: nn.GRU(E, H, L),
           "rnn_tanh": lambda: nn.RNN(E, H, L, nonlinearity="tanh"),
           "rnn_relu": lambda: nn.RNN(E, H, L, nonlinearity="relu")}[cell]()
    emb, dec = nn.Embedding(V, E), nn.Linear(H, V)
    with torch.no_grad():
        emb.weight.copy_(torch.from_numpy(f["embedding.weight"][:]))
        for name, p in rnn.named_parameters():
            p.copy_(torch.from_numpy(f["rnn." + name][:]))
        dec.weight.copy_(torch.from_numpy(f["decoder.weight"][:]))
        dec.bias.copy_(torch.from_numpy(f["decoder.bias"][:]))
        total, count = 0.0, 0
        for i in range(len(off) - 1):
            seq = torch.from_numpy(tok[off[i]:off[i + 1]])
            x = torch.cat([torch.tensor([eos]), seq[:-1]]).unsqueeze(1)  # (T, 1), starts with <eos>
            logits = dec(rnn(emb(x))[0]).squeeze(1)
            total += nn.functional.cross_entropy(logits.double(), seq, reduction="sum").item()
            count += len(seq)
    ev = json.load(open(ev_path))
    rel = abs(total / count - ev["loss"]) / ev["loss"]
    worst = max(worst, rel)
    print(f"{cell}: torch loss {total / count:.6f}, recur eval {ev['loss']:.6f} over {count} tokens (relative {rel:.1e})")
    assert count == ev["tokens"], (count, ev["tokens"])
assert worst < 1e-4, worst
print("torch parity: ok")
