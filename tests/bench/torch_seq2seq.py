"""PyTorch reference for tests/bench/bench_seq2seq.sh: the model recur trains with --task seq2seq
--cell gru --attention general (Luong et al. 2015: score h . W_in k, context, tanh(W_out [c; h])),
written as PyTorch users write it: padded batches, a source mask in the attention, padding ignored
by the loss; Adam, one thread. Reads the source<TAB>target lines bench_seq2seq.sh makes, with the
same character vocabulary and <eos> (id 0) handling as recur (decoder input <eos> y, target y <eos>).
Usage: torch_seq2seq.py LINES.txt H L E B STEPS train|greedy [N_DECODE [MODEL.h5 OUT.txt]]
  train: target tokens/s (with <eos>, as recur counts them) over STEPS steps after 2 warm-up steps
  greedy: decodes the first N_DECODE sources in batches of B (as recur predict --batch B): s;
    with MODEL.h5 (recur's, trained on LINES.txt) its weights are loaded by name, so both decode
    the same outputs (written to OUT.txt), and a batch stops when all its outputs ended"""
import sys, time, torch, torch.nn as nn

path, H, L, E, B, steps, mode = sys.argv[1], *map(int, sys.argv[2:7]), sys.argv[7]
torch.set_num_threads(1)
torch.manual_seed(0)
pairs = [l.rstrip("\n").split("\t") for l in open(path)]
chars = sorted({c for s, t in pairs for c in s + t})
ids = {c: i + 1 for i, c in enumerate(chars)}  # 0 = <eos>
V, PAD = len(chars) + 1, len(chars) + 1
enc_emb, dec_emb = nn.Embedding(V + 1, E, padding_idx=PAD), nn.Embedding(V + 1, E, padding_idx=PAD)
enc, dec = nn.GRU(E, H, L), nn.GRU(E, H, L)
lin_in, lin_out, out = nn.Linear(H, H, bias=False), nn.Linear(2 * H, H, bias=False), nn.Linear(H, V)
mods = [enc_emb, dec_emb, enc, dec, lin_in, lin_out, out]
params = [p for m in mods for p in m.parameters()]
opt = torch.optim.Adam(params, 1e-3)

def batch(k):
    ps = [pairs[(k * B + i) % len(pairs)] for i in range(B)]
    S, T = max(len(s) for s, _ in ps), max(len(t) for _, t in ps) + 1
    src = torch.full((S, B), PAD, dtype=torch.long)
    tin = torch.full((T, B), PAD, dtype=torch.long)
    tgt = torch.full((T, B), PAD, dtype=torch.long)
    slen = torch.tensor([len(s) for s, _ in ps])
    for i, (s, t) in enumerate(ps):
        src[:len(s), i] = torch.tensor([ids[c] for c in s])
        y = [ids[c] for c in t] + [0]
        tin[:len(y), i] = torch.tensor([0] + y[:-1])
        tgt[:len(y), i] = torch.tensor(y)
    return src, slen, tin, tgt

def encode(src, slen):
    packed = nn.utils.rnn.pack_padded_sequence(enc_emb(src), slen, enforce_sorted=False)
    keys, h = enc(packed)
    keys, _ = nn.utils.rnn.pad_packed_sequence(keys)  # (S, B, H)
    mask = torch.arange(keys.shape[0])[:, None] >= slen[None, :]  # (S, B) padding
    return keys, h, mask

def attend(q, keys, mask):  # q (T, B, H) -> h~ (T, B, H)
    score = torch.einsum("tbh,sbh->bts", lin_in(q), keys).masked_fill(mask.T[:, None, :], -1e9)
    ctx = torch.einsum("bts,sbh->tbh", torch.softmax(score, dim=2), keys)
    return torch.tanh(lin_out(torch.cat([ctx, q], dim=2)))

batches = [batch(k) for k in range(8)]
if mode == "train":
    def step(i):
        src, slen, tin, tgt = batches[i % len(batches)]
        keys, h, mask = encode(src, slen)
        q, _ = dec(dec_emb(tin), h)
        logits = out(attend(q, keys, mask))
        loss = nn.functional.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1), ignore_index=PAD)
        opt.zero_grad(); loss.backward(); nn.utils.clip_grad_norm_(params, 5.0); opt.step()
    for i in range(2): step(i)
    t0 = time.time()
    tokens = 0
    for i in range(steps):
        step(i)
        src, slen, tin, tgt = batches[i % len(batches)]
        tokens += int((tgt != PAD).sum())  # target tokens (with <eos>), as recur counts them
    print("torch seq2seq GRU %dx%d attention general B=%d: %.0f target tokens/s" % (L, H, B, tokens / (time.time() - t0)))
else:
    n = int(sys.argv[8])
    outs = []
    if len(sys.argv) > 9:  # recur's trained weights, by name
        import h5py
        f = h5py.File(sys.argv[9], "r")
        T_ = lambda k: torch.from_numpy(f[k][:])
        with torch.no_grad():
            enc_emb.weight[:V].copy_(T_("encoder.embedding.weight"))
            dec_emb.weight[:V].copy_(T_("decoder.embedding.weight"))
            for name, p in enc.named_parameters(): p.copy_(T_("encoder.rnn." + name))
            for name, p in dec.named_parameters(): p.copy_(T_("decoder.rnn." + name))
            lin_in.weight.copy_(T_("attention.linear_in.weight"))
            lin_out.weight.copy_(T_("attention.linear_out.weight"))
            out.weight.copy_(T_("decoder.out.weight"))
            out.bias.copy_(T_("decoder.out.bias"))
    srcs = [s for s, _ in pairs[:n]]
    t0 = time.time()
    with torch.no_grad():
        for k in range(0, n, B):
            ss = srcs[k:k + B]
            src = torch.full((max(map(len, ss)), len(ss)), PAD, dtype=torch.long)
            for i, s in enumerate(ss): src[:len(s), i] = torch.tensor([ids[c] for c in s])
            slen = torch.tensor([len(s) for s in ss])
            keys, h, mask = encode(src, slen)
            x, done = torch.zeros(1, len(ss), dtype=torch.long), torch.zeros(len(ss), dtype=torch.bool)
            ys = []
            for t in range(80):  # the longest target is 60 characters and <eos>
                q, h = dec(dec_emb(x), h)
                x = out(attend(q, keys, mask)).argmax(2)
                ys.append(x[0])
                done |= x[0] == 0
                if done.all(): break
            ys = torch.stack(ys, 1)  # (rows, steps)
            for row in ys.tolist():
                outs.append("".join(chars[i - 1] for i in (row + [0])[:(row + [0]).index(0)]))
    if len(sys.argv) > 10:
        open(sys.argv[10], "w").write("".join(o + "\n" for o in outs))
    print("torch seq2seq greedy decoding of %d inputs: %.2f s" % (n, time.time() - t0))
