"""Compare PyTorch DDP gradient exchanges on a real 2-process CPU job:
PyTorch's all-reduce hook, its PowerSGD hook (Vogels et al. 2019) and csgd's
hook with csgd's compressors, under error feedback or (for unbiased
compressors such as QSGD) without.

    PYTHONPATH=/path/to/torch:python python3 python/examples/ddp_compare.py --steps 300

Each run trains the same MLP (784-256-10, ReLU) from the same start with SGD on
Fashion-MNIST (/usr/share/datasets/fashion-mnist, the Debian package
dataset-fashion-mnist) or, when that is missing, a synthetic 10-class problem
of the same shape; each rank draws its own batches from its half of the
training set. Printed per run: the training loss (mean over the first and the
last 20 steps), the test loss and accuracy at the end, the bytes each rank
handed to the collectives per step (all_reduce and all_gather inputs, counted
in the process), and the mean wall time of a step after 10 warm-up steps.
"""

import argparse
import gzip
import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FASHION = Path("/usr/share/datasets/fashion-mnist")


def load_data(n_synthetic=20000):
    """(train_x, train_y, test_x, test_y, name) as float32 / int64 arrays."""
    def idx(name, offset):
        with gzip.open(FASHION / name) as f:
            return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)
    if (FASHION / "train-images-idx3-ubyte.gz").is_file():
        tx = idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32) / 255.0
        ty = idx("train-labels-idx1-ubyte.gz", 8).astype(np.int64)
        vx = idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32) / 255.0
        vy = idx("t10k-labels-idx1-ubyte.gz", 8).astype(np.int64)
        mean, std = tx.mean(), tx.std()
        return (tx - mean) / std, ty, (vx - mean) / std, vy, "Fashion-MNIST"
    rng = np.random.default_rng(0)
    w = rng.standard_normal((784, 10)).astype(np.float32) / 28.0
    x = rng.standard_normal((n_synthetic + 5000, 784)).astype(np.float32)
    y = np.argmax(x @ w + 0.5 * rng.standard_normal((len(x), 10)), axis=1).astype(np.int64)
    return x[:n_synthetic], y[:n_synthetic], x[n_synthetic:], y[n_synthetic:], "synthetic (no Fashion-MNIST)"


class Counter:
    """Bytes handed to all_reduce / all_gather in this process."""
    def __init__(self):
        self.bytes = 0


def count_collectives(dist, counter):
    reduce_ = dist.all_reduce
    gather = dist.all_gather

    def all_reduce(tensor, *a, **k):
        counter.bytes += tensor.numel() * tensor.element_size()
        return reduce_(tensor, *a, **k)

    def all_gather(outputs, tensor, *a, **k):
        counter.bytes += tensor.numel() * tensor.element_size()
        return gather(outputs, tensor, *a, **k)
    dist.all_reduce = all_reduce
    dist.all_gather = all_gather


def run(rank, world, port, method, spec, args, out_path):
    import torch
    import torch.distributed as dist
    import torch.nn as nn
    from torch.nn.parallel import DistributedDataParallel as DDP
    from torch.distributed.algorithms.ddp_comm_hooks import default_hooks, powerSGD_hook

    torch.set_num_threads(1)
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    counter = Counter()
    count_collectives(dist, counter)

    tx, ty, vx, vy, _ = load_data()
    shard = np.arange(rank, len(tx), world)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    ddp = DDP(model)
    if method == "allreduce":
        ddp.register_comm_hook(None, default_hooks.allreduce_hook)
        state = None
    elif method == "powersgd":
        state = powerSGD_hook.PowerSGDState(process_group=None, matrix_approximation_rank=int(spec),
                                            start_powerSGD_iter=2, use_error_feedback=True, warm_start=True)
        ddp.register_comm_hook(state, powerSGD_hook.powerSGD_hook)
    else:   # csgd, csgd-noef
        from csgd.torch_hooks import CSGDHookState, csgd_hook
        state = CSGDHookState(spec, seed=0, error_feedback=(method == "csgd"))
        ddp.register_comm_hook(state, csgd_hook)
    opt = torch.optim.SGD(ddp.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(1000 + rank)
    xs, ys = torch.from_numpy(tx), torch.from_numpy(ty)

    losses, times, sent = [], [], []
    for step in range(args.steps):
        batch = torch.from_numpy(shard[rng.integers(0, len(shard), args.batch)])
        before = counter.bytes
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = loss_fn(ddp(xs[batch]), ys[batch])
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
        sent.append(counter.bytes - before)
        losses.append(float(loss.item()))

    # The training loss averaged over ranks, step by step.
    t = torch.tensor(losses, dtype=torch.float64)
    dist.all_reduce(t)
    with torch.no_grad():
        logits = model(torch.from_numpy(vx))
        test_loss = float(loss_fn(logits, torch.from_numpy(vy)))
        test_acc = float((logits.argmax(1) == torch.from_numpy(vy)).float().mean())
    if rank == 0:
        mean_loss = (t / world).tolist()
        record = {
            "method": {"csgd": "csgd " + spec + " EF", "csgd-noef": "csgd " + spec}.get(method, method),
            "params": sum(p.numel() for p in model.parameters()),
            "loss_first20": float(np.mean(mean_loss[:20])),
            "loss_last20": float(np.mean(mean_loss[-20:])),
            "test_loss": test_loss, "test_acc": test_acc,
            "bytes_per_step": float(np.mean(sent[10:])),
            "step_ms": 1000 * float(np.mean(times[10:])),
            "curve": [float(np.mean(mean_loss[i:i + 50])) for i in range(0, len(mean_loss), 50)],
        }
        if method.startswith("csgd"):
            record["message_bits_per_step"] = state.message_bits / args.steps
        with open(out_path, "w") as f:
            json.dump(record, f)
    dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=64, help="samples per rank per step")
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--world", type=int, default=2)
    ap.add_argument("--powersgd-rank", type=int, default=2)
    ap.add_argument("--csgd", default="topk:0.01;sign", help="csgd compressor specs under error feedback, ';'-separated")
    ap.add_argument("--csgd-no-ef", default="qsgd:15", help="csgd compressor specs without error feedback, ';'-separated")
    ap.add_argument("--json", help="also write the records to this file")
    args = ap.parse_args()
    if args.steps <= 20:
        ap.error("--steps must exceed 20")
    import torch.multiprocessing as mp
    import csgd
    for spec in [s for s in (args.csgd + ";" + args.csgd_no_ef).split(";") if s]:
        try:
            csgd.Compressor(spec, 784 * 256 + 256)   # the largest bucket a spec must fit
        except csgd.CSGDError as e:
            print("ddp_compare: error: %s" % e, file=sys.stderr)
            sys.exit(2)

    runs = [("allreduce", ""), ("powersgd", str(args.powersgd_rank))]
    runs += [("csgd", s) for s in args.csgd.split(";") if s] + [("csgd-noef", s) for s in args.csgd_no_ef.split(";") if s]
    records = []
    data_name = load_data()[4]
    with tempfile.TemporaryDirectory() as tmp:
        for i, (method, spec) in enumerate(runs):
            out = os.path.join(tmp, "run%d.json" % i)
            mp.spawn(run, args=(args.world, free_port(), method, spec, args, out), nprocs=args.world, join=True)
            with open(out) as f:
                records.append(json.load(f))
            print("done: %s" % records[-1]["method"], file=sys.stderr)
    base = records[0]["bytes_per_step"]
    print("data: %s; MLP with %d parameters; %d ranks (gloo, CPU); %d steps of %d samples a rank; SGD lr %g"
          % (data_name, records[0]["params"], args.world, args.steps, args.batch, args.lr))
    print("%-26s %14s %9s %9s %11s %11s %9s %9s" % ("hook", "bytes/step", "vs dense", "step ms", "loss 1-20",
                                                    "loss last20", "test loss", "test acc"))
    for r in records:
        print("%-26s %14.0f %8.1fx %9.2f %11.4f %11.4f %9.4f %9.4f" % (
            r["method"], r["bytes_per_step"], base / r["bytes_per_step"], r["step_ms"], r["loss_first20"],
            r["loss_last20"], r["test_loss"], r["test_acc"]))
    print("loss curve (mean of each 50 steps):")
    for r in records:
        print("  %-24s %s" % (r["method"], " ".join("%.3f" % v for v in r["curve"])))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f, indent=1)


if __name__ == "__main__":
    main()
