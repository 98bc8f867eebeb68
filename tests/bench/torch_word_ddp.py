# PyTorch DistributedDataParallel (gloo, CPU) reference for the word LM of bench_word.sh: embedding,
# LSTM LxH, AdaptiveLogSoftmaxWithLoss (cutoffs V/25, V/5, div_value 4) or a full softmax, Adam,
# clipping at 5, a Zipf-distributed fixed batch; the global batch split over WORLD processes with
# one intra-op thread each. What recur's 2-rank figures are measured beside.
# Usage: torch_word_ddp.py V H L E GLOBAL_B T WORLD STEPS [adaptive|full]  -> prints tokens/s
import os, sys, time
import torch, torch.nn as nn, torch.distributed as dist, torch.multiprocessing as mp


def run(rank, V, H, L, E, B, T, W, steps, mode):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT="29541")
    dist.init_process_group("gloo", rank=rank, world_size=W)
    torch.set_num_threads(1)
    torch.manual_seed(0)

    class LM(nn.Module):
        def __init__(s):
            super().__init__()
            s.emb, s.rnn = nn.Embedding(V, E), nn.LSTM(E, H, L)
            if mode == "adaptive":
                s.head = nn.AdaptiveLogSoftmaxWithLoss(H, V, [V // 25, V // 5], div_value=4.0)
            else:
                s.head = nn.Linear(H, V)

        def forward(s, x, y):
            h = s.rnn(s.emb(x))[0].reshape(-1, H)
            if mode == "adaptive":
                return s.head(h, y.reshape(-1)).loss
            return nn.functional.cross_entropy(s.head(h), y.reshape(-1))

    m = nn.parallel.DistributedDataParallel(LM())
    opt = torch.optim.Adam(m.parameters(), 1e-3)
    b = B // W
    p = 1.0 / torch.arange(1, V + 1, dtype=torch.float)
    data = torch.multinomial(p / p.sum(), (T + 1) * b * 4, replacement=True).view(4, T + 1, b)

    def step(i):
        x, y = data[i % 4, :-1], data[i % 4, 1:]
        opt.zero_grad()
        m(x, y).backward()
        nn.utils.clip_grad_norm_(m.parameters(), 5.0)
        opt.step()

    for i in range(2):
        step(i)
    dist.barrier()
    t = time.perf_counter()
    for i in range(steps):
        step(i)
    dist.barrier()
    dt = (time.perf_counter() - t) / steps
    if rank == 0:
        print("torch-ddp word LM %s V=%d LSTM %dx%d global B%d world %d: %.0f tokens/s"
              % (mode, V, L, H, B, W, B * T / dt))
    dist.destroy_process_group()


if __name__ == "__main__":
    V, H, L, E, B, T, W, steps = map(int, sys.argv[1:9])
    mode = sys.argv[9] if len(sys.argv) > 9 else "adaptive"
    mp.spawn(run, args=(V, H, L, E, B, T, W, steps, mode), nprocs=W)
