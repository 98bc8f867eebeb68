"""Load recur model.h5 files into PyTorch (nn.Embedding, nn.LSTM/GRU/RNN, nn.Linear) by name with
h5py, read the dataset with h5py, and check the loss PyTorch computes on the val split against
`recur eval --json`: language models, bidirectional taggers and classifiers, and language models
conditioned on a label (cond.embedding -> tanh(cond.init_l*) -> each layer's h0 (and c0), with
--cond-input the label's embedding also concatenated to every input), and encoder-decoders
(encoder.embedding -> encoder.rnn, whose final states (h_n, c_n) start decoder.rnn; the readout is
decoder.out), with attention over the encoder's outputs (attention.*: the context c of the
decoder's top output h, then tanh(linear_out([c; h])) is the readout's input).
Usage: torch_parity.py DATA.h5 EVAL.json MODEL.h5 [EVAL.json MODEL.h5 ...] [-- DATA.h5 ...]"""
import json, sys
import h5py, numpy as np, torch, torch.nn as nn

def text(v):  # recur writes strings fixed-length (checksummed): h5py gives bytes
    return v.decode() if isinstance(v, bytes) else v

def check(args):  # one dataset and its (EVAL.json, MODEL.h5) pairs
    data = h5py.File(args[0], "r")
    assert text(data.attrs["format"]) == "recur-dataset"
    task = text(data.attrs["task"])
    tok = data["val/tokens"][:].astype(np.int64)
    off = data["val/offsets"][:]
    tags = data["val/tags"][:].astype(np.int64) if task == "tag" else None
    src_tok = data["val/src_tokens"][:].astype(np.int64) if task == "seq2seq" and "val/src_tokens" in data else None
    src_val = data["val/src_values"][:] if "val/src_values" in data else None  # --cond-features: frames
    src_off = data["val/src_offsets"][:] if task == "seq2seq" else None
    labels = data["val/labels"][:].astype(np.int64) if task in ("classify", "condlm") and "val/labels" in data else None
    conds = data["val/cond"][:] if "val/cond" in data else None  # condlm --cond-features: a vector per sequence
    eos = int(data.attrs["eos_id"])
    worst = 0.0
    for ev_path, path in zip(args[1::2], args[2::2]):
        f = h5py.File(path, "r")
        a = f.attrs
        cell, L, H, E, V = text(a["cell"]), int(a["layers"]), int(a["hidden"]), int(a["embed"]), int(a["vocab_size"])
        bi, O = bool(a["bidirectional"]), int(a["n_out"])
        Pj = int(a.get("proj_size", 0))  # lstm projections: proj_size
        kw = dict(bidirectional=bi, **({"proj_size": Pj} if Pj else {}))
        cin = int(a["cond_dim"]) if task == "condlm" and int(a["cond_input"]) else 0
        feed = int(a.get("input_feed", 0))  # seq2seq --input-feed: [embedding; h~ of the step before]
        I = E + cin + (H if feed else 0)  # the first layer's input width
        make_rnn = lambda **kw: {"lstm": lambda: nn.LSTM(I, H, L, **kw), "gru": lambda: nn.GRU(I, H, L, **kw),
                                 "rnn_tanh": lambda: nn.RNN(I, H, L, nonlinearity="tanh", **kw),
                                 "rnn_relu": lambda: nn.RNN(I, H, L, nonlinearity="relu", **kw)}[cell]()
        s2s = task == "seq2seq"
        rnn = make_rnn(**(dict(kw, bidirectional=False) if s2s else kw))  # seq2seq: bidirectional = the encoder
        pfx = "decoder." if s2s else ""  # seq2seq: the decoder's names, the encoder's below
        if s2s:
            I = E  # the encoder reads embeddings (or frames through a Linear) only
            if src_val is None:
                Vs = f["encoder.embedding.weight"].shape[0]  # --separate-vocab: the sources' own
                enc_emb = nn.Embedding(Vs, E)
            else:  # frames, normalised by the statistics the model keeps, through encoder.input
                enc_emb = nn.Linear(src_val.shape[1], E)
                smean, sstd = torch.from_numpy(f["cond.mean"][:]), torch.from_numpy(f["cond.std"][:])
            enc_rnn = make_rnn(**kw)
            I = E + (H if feed else 0)
            with torch.no_grad():
                for name, p in enc_emb.named_parameters():
                    p.copy_(torch.from_numpy(f[("encoder.embedding." if src_val is None else "encoder.input.") + name][:]))
                for name, p in enc_rnn.named_parameters():
                    p.copy_(torch.from_numpy(f["encoder.rnn." + name][:]))
        if task == "condlm":
            cemb = torch.from_numpy(f["cond.embedding.weight"][:]) if conds is None else None
            if conds is not None:  # normalised by the statistics the model keeps
                cmean, cstd = torch.from_numpy(f["cond.mean"][:]), torch.from_numpy(f["cond.std"][:])
            cinit = [(torch.from_numpy(f[f"cond.init_l{l}.weight"][:]), torch.from_numpy(f[f"cond.init_l{l}.bias"][:]))
                     for l in range(L)]
        Hs = Pj or H  # the state and output width
        D = Hs * (2 if bi and task != "seq2seq" else 1)
        adaptive = text(a.get("softmax", "full")) == "adaptive"
        emb = nn.Embedding(V, E)
        if adaptive:  # decoder = AdaptiveLogSoftmaxWithLoss: its whole log-distribution, by name
            asm = nn.AdaptiveLogSoftmaxWithLoss(D, V, [int(c) for c in a["cutoffs"]], div_value=float(a["div_value"]))
            dec = asm.log_prob
        else:
            ro = "decoder.out." if task == "seq2seq" else "decoder."
            mlp = (ro + "hidden.weight") in f  # --readout-hidden: tanh(W_h x + b_h) before the readout
            asm = dec = nn.Linear(f[ro + "hidden.weight"].shape[0] if mlp else D, O)
        with torch.no_grad():
            emb.weight.copy_(torch.from_numpy(f[pfx + "embedding.weight"][:]))
            for name, p in rnn.named_parameters():
                p.copy_(torch.from_numpy(f[pfx + "rnn." + name][:]))
            for name, p in asm.named_parameters():
                p.copy_(torch.from_numpy(f[("decoder.out." if s2s else "decoder.") + name][:]))
            total, count = 0.0, 0
            for i in range(len(off) - 1):
                seq = torch.from_numpy(tok[off[i]:off[i + 1]])
                state = None
                if s2s:  # the encoder's final states start the decoder
                    if src_val is None:
                        src = torch.from_numpy(src_tok[src_off[i]:src_off[i + 1]])
                    else:
                        src = ((torch.from_numpy(src_val[src_off[i]:src_off[i + 1]]).double() - smean) / sstd).float()
                    keys, state = enc_rnn(enc_emb(src.unsqueeze(1)))
                    keys = keys.squeeze(1)  # (S, De)
                    if bi:  # the bridge: tanh(W [forward; reverse] + b) per layer, for h and for c
                        def bridge(s, n):
                            return torch.stack([torch.tanh(torch.cat([s[2 * l, 0], s[2 * l + 1, 0]])
                                                           @ torch.from_numpy(f[f"bridge.{n}_l{l}.weight"][:]).T
                                                           + torch.from_numpy(f[f"bridge.{n}_l{l}.bias"][:]))
                                                for l in range(L)]).unsqueeze(1)
                        state = (bridge(state[0], "h"), bridge(state[1], "c")) if cell == "lstm" else bridge(state, "h")
                if task in ("lm", "condlm", "seq2seq"):  # starts with <eos>, predicts every token
                    x, y = torch.cat([torch.tensor([eos]), seq[:-1]]), seq
                else:
                    x = seq
                    y = torch.from_numpy(tags[off[i]:off[i + 1]]) if task == "tag" else torch.tensor([labels[i]])
                inp = emb(x.unsqueeze(1))  # (T, 1, E)
                if task == "condlm":  # the label makes every layer's initial state
                    e = cemb[labels[i]] if conds is None else ((torch.from_numpy(conds[i]).double() - cmean) / cstd).float()
                    z = torch.stack([torch.tanh(w @ e + b) for w, b in cinit]).unsqueeze(1)  # (L, 1, S H)
                    state = (z[:, :, :H].contiguous(), z[:, :, H:].contiguous()) if cell == "lstm" else z.contiguous()
                    if cin:
                        inp = torch.cat([inp, e.expand(len(x), 1, cin)], dim=2)
                attn = text(a.get("attention", "none"))
                W = lambda n: torch.from_numpy(f["attention." + n][:])
                def attend(out):  # (T, D) decoder outputs -> h~
                    if attn == "dot":
                        score = out @ keys.T
                    elif attn == "general":
                        score = (out @ W("linear_in.weight").T) @ keys.T
                    else:  # concat: v . tanh(W_q h + b_q + W_k k)
                        q = out @ W("linear_query.weight").T + W("linear_query.bias")
                        k = keys @ W("linear_context.weight").T
                        score = (torch.tanh(q[:, None, :] + k[None, :, :]) @ W("v.weight").T).squeeze(2)
                    ctx = torch.softmax(score, dim=1) @ keys
                    return torch.tanh(torch.cat([ctx, out], dim=1) @ W("linear_out.weight").T)
                if feed:  # step by step: each step's input is [embedding; h~ of the step before]
                    prev, outs = torch.zeros(1, 1, H), []
                    for t in range(len(x)):
                        o, state = rnn(torch.cat([inp[t:t + 1], prev], dim=2), state)
                        prev = attend(o.squeeze(1)).unsqueeze(1)
                        outs.append(prev.squeeze(1))
                    out = torch.cat(outs)
                else:
                    out = rnn(inp, state)[0].squeeze(1)  # (T, D)
                    if attn != "none":
                        out = attend(out)
                if task == "classify":  # forward direction at the last step, reverse direction at the first
                    out = torch.cat([out[-1, :Hs], out[0, Hs:]]).unsqueeze(0) if bi else out[-1:]
                if not adaptive and mlp:
                    out = torch.tanh(out @ torch.from_numpy(f[ro + "hidden.weight"][:]).T + torch.from_numpy(f[ro + "hidden.bias"][:]))
                logits = dec(out).double()  # adaptive: already log-probabilities (log_softmax keeps them)
                total += nn.functional.cross_entropy(logits, y, reduction="sum").item()
                count += len(y)
        ev = json.load(open(ev_path))
        rel = abs(total / count - ev["loss"]) / ev["loss"]
        worst = max(worst, rel)
        kind = ("bidirectional " if bi else "") + ("cond-input " if cin else "") + ("vector " if conds is not None else "") + ("frames " if src_val is not None else "") + \
            ("tied " if int(a.get("tie_weights", 0)) else "") + (f"proj {Pj} " if Pj else "") + \
            (f"adaptive {list(a['cutoffs'])} " if adaptive else "") + \
            (f"attention {text(a['attention'])} " if text(a.get("attention", "none")) != "none" else "") + \
            ("readout-hidden " if not adaptive and mlp else "") + ("input-feed " if feed else "")
        print(f"{task} {kind}{cell}: torch loss {total / count:.6f}, recur eval {ev['loss']:.6f} over {count} (relative {rel:.1e})")
        assert count == ev.get("tokens", ev.get("sequences")), (count, ev)
    return worst

# groups "DATA.h5 EVAL.json MODEL.h5 ..." separated by "--": one process for all (torch's import once)
groups, cur = [], []
for a in sys.argv[1:] + ["--"]:
    if a == "--":
        if cur: groups.append(cur)
        cur = []
    else:
        cur.append(a)
worst = max(check(g) for g in groups)
assert worst < 1e-4, worst
print("torch parity: ok")
