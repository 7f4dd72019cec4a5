#!/usr/bin/env python3
"""PyTorch side of `RunnerBench stage1`: times one case of the Stage 1 reference model and prints
one JSON line: median wall time per step, median process CPU time per step (all threads; robust
to other load on the machine), samples/s from the wall time, and peak RSS. The Swift benchmark runs this once per case and mode, each in its own process (so
the peak resident memory, ru_maxrss, belongs to that case alone).

    python tools/bench_torch.py --what train --size 64 --batch 4 --threads 2 --mode default
    python tools/bench_torch.py --what eval  --size 64 --batch 4 --threads 2 --mode best

--what train: forward + RMSE loss + backward + AdamW step (lr 1e-3, weight decay 0.01), as the
              engine's Stage1Trainer does; --what eval: model.eval() forward under no_grad.
--mode default: PyTorch eager as installed (contiguous NCDHW).
--mode best:    channels_last_3d model and input. The allocator settings (glibc keeping freed
                memory: MALLOC_TRIM_THRESHOLD_, MALLOC_MMAP_THRESHOLD_) must be in the environment
                before the process starts; the caller sets them and this script reports what it saw.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_model import Stage1Model  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--what", choices=["train", "eval"], required=True)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mode", choices=["default", "best"], default="default")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--iters", type=int, default=3)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Stage1Model(base=16, latent=256, size=a.size, channels=2)
    x = torch.rand(a.batch, 2, a.size, a.size, a.size)
    t = torch.rand(a.batch, 2, a.size, a.size, a.size)
    if a.mode == "best":
        model = model.to(memory_format=torch.channels_last_3d)
        x = x.contiguous(memory_format=torch.channels_last_3d)
        t = t.contiguous(memory_format=torch.channels_last_3d)

    if a.what == "train":
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)

        def step():
            opt.zero_grad(set_to_none=True)
            loss = torch.sqrt(F.mse_loss(model(x), t))
            loss.backward()
            opt.step()
    else:
        model.eval()

        def step():
            with torch.no_grad():
                model(x)

    for _ in range(a.warmup):
        step()
    times, cpu = [], []
    for _ in range(a.iters):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    med = statistics.median(times)
    print(json.dumps({
        "median_s": med,
        "samples_per_s": a.batch / med,
        "times_s": times,
        "cpu_s": statistics.median(cpu),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "mode": a.mode,
        "malloc_env": {k: os.environ[k] for k in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_") if k in os.environ},
    }))


if __name__ == "__main__":
    main()
