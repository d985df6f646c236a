"""A PyTorch DDP communication hook running csgd's error feedback and compressors.

    import torch.distributed as dist
    from csgd.torch_hooks import CSGDHookState, csgd_hook
    state = CSGDHookState("topk:0.01", seed=0)
    ddp_model.register_comm_hook(state, csgd_hook)

Per gradient bucket and step, each rank runs error feedback around the
compressor on its bucket gradient g (e ← e + g, m = C(e), e ← e − C(m), csgd's
keys: (seed, step, rank)), or with error_feedback=False compresses g alone
(m = C(g): for unbiased compressors such as QSGD, whose error
E‖C(x) − x‖² ≤ min(d/S², √d/S)·‖x‖² can exceed ‖x‖², so that a memory of it
grows without bound), exchanges the encoded messages with two
`all_gather`s (the message lengths, then the messages padded to the longest
as uint8 tensors), decodes every rank's message and returns the average
(1/W)·Σ_r C(m_r) as the bucket's gradient. The exchange is done in the hook
and the returned Future is already complete. torch is imported when a hook
state is made, not when csgd is.
"""

import time

import numpy as np

from .error_feedback import ErrorFeedback
from .keys import QUANTIZATION
from .compressor import Message


class CSGDHookState:
    """The hook's state on one rank: the spec, the run's seed, the noise σ,
    one error-feedback memory and step counter per bucket, and what was sent.

    bytes_sent counts the bytes this rank put into the collectives (the
    8-byte length and the padded message, per bucket and step);
    message_bytes and message_bits the encoded messages alone;
    dense_bytes what a float32 all-reduce of the same buckets would send."""

    def __init__(self, spec, seed=0, sigma=0.0, error_feedback=True, process_group=None):
        import torch.distributed as dist  # noqa: F401  (fails early without torch)
        if not error_feedback and sigma:
            raise ValueError("the perturbation sigma is part of error feedback; it needs error_feedback=True")
        self.spec = spec
        self.use_error_feedback = bool(error_feedback)
        self.seed = int(seed)
        self.sigma = float(sigma)
        self.process_group = process_group
        self.memories = {}
        self.steps = {}
        self.bytes_sent = 0
        self.message_bytes = 0
        self.message_bits = 0
        self.dense_bytes = 0
        self.hook_seconds = 0.0

    def error_feedback(self, index, d):
        """The bucket's memory; a new one (e = 0) when the bucket is new or
        changed size (DDP rebuilds its buckets after the first iteration)."""
        ef = self.memories.get(index)
        if ef is None or ef.dimension != d:
            ef = ErrorFeedback(self.spec, d, sigma=self.sigma)
            self.memories[index] = ef
            self.steps[index] = 0
        return ef


def csgd_hook(state, bucket):
    """DDP comm hook: csgd error feedback + compression of the bucket, then the
    average of all ranks' decompressed messages (see the module's documentation)."""
    import torch
    import torch.distributed as dist

    t0 = time.perf_counter()
    group = state.process_group if state.process_group is not None else dist.group.WORLD
    world = dist.get_world_size(group)
    rank = dist.get_rank(group)
    tensor = bucket.buffer()
    d = tensor.numel()
    grad = tensor.detach().to(device="cpu", dtype=torch.float32).numpy().reshape(-1)

    ef = state.error_feedback(bucket.index(), d)
    step = state.steps[bucket.index()]
    state.steps[bucket.index()] = step + 1
    if state.use_error_feedback:
        msg = ef.step_message(grad, state.seed, step, rank)
    else:
        msg = ef.compressor.compress(grad, state.seed, step, rank, QUANTIZATION)

    # Lengths first, then the messages padded to the longest.
    length = torch.tensor([len(msg.data)], dtype=torch.int64)
    lengths = [torch.zeros(1, dtype=torch.int64) for _ in range(world)]
    dist.all_gather(lengths, length, group=group)
    longest = max(int(n.item()) for n in lengths)
    payload = torch.zeros(longest, dtype=torch.uint8)
    if msg.data:
        payload[:len(msg.data)] = torch.frombuffer(bytearray(msg.data), dtype=torch.uint8)
    gathered = [torch.empty(longest, dtype=torch.uint8) for _ in range(world)]
    dist.all_gather(gathered, payload, group=group)

    avg = np.zeros(d, dtype=np.float32)
    c = ef.compressor
    for r in range(world):
        data = gathered[r][:int(lengths[r].item())].numpy().tobytes()
        c.decompress(Message(data, 0, state.seed, step, r, QUANTIZATION), out=avg, scale=1.0 / world, accumulate=True)

    state.bytes_sent += 8 + longest
    state.message_bytes += len(msg.data)
    state.message_bits += msg.bits
    state.dense_bytes += 4 * d
    tensor.copy_(torch.from_numpy(avg).to(device=tensor.device, dtype=tensor.dtype).view_as(tensor))
    fut = torch.futures.Future()
    fut.set_result(tensor)
    state.hook_seconds += time.perf_counter() - t0
    return fut
