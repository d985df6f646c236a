"""Tests of the csgd Python binding (numpy only; plain unittest).

Run: python3 python/tests/test_csgd.py   (or python3 -m pytest python/tests)
The library is found through $CSGD_LIBRARY or the SwiftPM build directory;
the comparison with the command-line tool uses $CSGD_CLI or the csgd binary
beside the library, and is skipped when there is none.
"""

import importlib.util
import json
import os
import socket
import subprocess
import tempfile
import sys
import unittest
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import csgd  # noqa: E402

SPECS = ["none", "fp64", "randomk:0.1", "topk:0.1", "topk:7", "sketch-topk:0.1", "sign",
         "qsgd:15", "qsgd:15,coding=fixed", "qsgd:1"]
D = 1000


def cli_path():
    env = os.environ.get("CSGD_CLI")
    if env:
        return Path(env)
    p = Path(str(csgd.library_path)).parent / "csgd"
    return p if p.is_file() and os.access(p, os.X_OK) else None


def vector(d, seed):
    return np.random.default_rng(seed).standard_normal(d).astype(np.float32)


class RoundTripTests(unittest.TestCase):
    def test_encode_decode_round_trip(self):
        x = vector(D, 1)
        for spec in SPECS:
            with self.subTest(spec=spec):
                c = csgd.Compressor(spec, D)
                m = c.compress(x, seed=3, step=5, worker=2)
                self.assertEqual(len(m.data), (m.bits + 7) // 8)
                self.assertLessEqual(len(m.data), c.max_bytes)
                back = c.decode(m.data, seed=3, step=5, worker=2)
                self.assertEqual(back.bits, m.bits)
                y1 = c.decompress(m)
                y2 = c.decompress(back)
                np.testing.assert_array_equal(y1, y2)
                self.assertTrue(np.all(np.isfinite(y1)))

    def test_lossless_and_sparse_messages_have_their_values(self):
        x = vector(D, 2)
        for spec in ["none", "fp64"]:
            np.testing.assert_array_equal(csgd.Compressor(spec, D).decompress(csgd.Compressor(spec, D).compress(x)), x)
        c = csgd.Compressor("topk:7", D)
        y = c.decompress(c.compress(x))
        top = np.argsort(-np.abs(x))[:7]
        self.assertEqual(set(np.flatnonzero(y)), set(top))
        np.testing.assert_array_equal(y[top], x[top])
        self.assertEqual(c.compress(x).bits, 7 * (32 + 10))   # K·(32 + ⌈log₂ d⌉)
        r = csgd.Compressor("randomk:0.1", D)
        y = r.decompress(r.compress(x, seed=9, step=1))
        nz = np.flatnonzero(y)
        self.assertEqual(len(nz), 100)
        np.testing.assert_array_equal(y[nz], x[nz])

    def test_decompress_accumulates_with_a_scale(self):
        x = vector(D, 3)
        c = csgd.Compressor("topk:0.1", D)
        m = c.compress(x)
        base = vector(D, 4)
        out = base.copy()
        c.decompress(m, out=out, scale=0.5, accumulate=True)
        np.testing.assert_allclose(out, base + np.float32(0.5) * c.decompress(m), rtol=0, atol=1e-6)

    def test_malformed_bytes_raise(self):
        c = csgd.Compressor("topk:0.1", D)
        m = c.compress(vector(D, 5))
        with self.assertRaises(csgd.MalformedMessage) as cm:
            c.decode(m.data[:-3])
        self.assertIn("truncated", str(cm.exception))
        with self.assertRaises(csgd.MalformedMessage) as cm:
            c.decode(m.data + b"\x00\x00")
        self.assertIn("trailing", str(cm.exception))
        q = csgd.Compressor("qsgd:15,coding=fixed", D)
        with self.assertRaises(csgd.MalformedMessage):
            q.decode(b"\xff\xff\xff\xff" + bytes(q.max_bytes - 4))   # a NaN norm


class DeterminismTests(unittest.TestCase):
    def test_same_key_same_bits(self):
        x = vector(D, 6)
        for spec in SPECS:
            with self.subTest(spec=spec):
                a = csgd.Compressor(spec, D).compress(x, seed=11, step=4, worker=1)
                b = csgd.Compressor(spec, D).compress(x, seed=11, step=4, worker=1)
                self.assertEqual(a.data, b.data)

    def test_keys_change_the_random_compressors(self):
        x = vector(D, 7)
        r = csgd.Compressor("randomk:0.1", D)
        self.assertNotEqual(np.flatnonzero(r.decompress(r.compress(x, seed=1, step=0))).tolist(),
                            np.flatnonzero(r.decompress(r.compress(x, seed=1, step=1))).tolist())
        q = csgd.Compressor("qsgd:3", D)
        self.assertNotEqual(q.compress(x, seed=1, step=0, worker=0).data, q.compress(x, seed=1, step=0, worker=1).data)

    def test_gaussian_stream_is_keyed(self):
        a = csgd.gaussian(4096, seed=5, step=2)
        self.assertTrue(np.array_equal(a, csgd.gaussian(4096, seed=5, step=2)))
        self.assertFalse(np.array_equal(a, csgd.gaussian(4096, seed=5, step=3)))
        self.assertLess(abs(float(a.mean())), 0.1)
        self.assertLess(abs(float(a.std()) - 1), 0.05)


class ErrorFeedbackTests(unittest.TestCase):
    def check_identity(self, spec, sigma):
        d = 777
        ef = csgd.ErrorFeedback(spec, d, sigma=sigma)
        c = csgd.Compressor(spec, d)
        np.testing.assert_array_equal(ef.memory, np.zeros(d, np.float32))
        e0 = vector(d, 8)
        ef.memory = e0
        for step in range(3):
            g = vector(d, 20 + step)
            before = ef.memory
            data = ef.step(g, seed=4, step=step, worker=1)
            self.assertEqual(c.decode(data, seed=4, step=step, worker=1).data, data)
            comp = c.decompress(csgd.Message(data, 0, 4, step, 1, csgd.QUANTIZATION))
            w = g + before
            if sigma > 0:
                xi = csgd.gaussian(d, seed=4, step=step, worker=csgd.SHARED, purpose=csgd.PERTURBATION)
                w = (g + np.float32(sigma) * xi) + before
            # e_new = e + g (+ σξ) − C(e + g (+ σξ)), and m = C(e + g (+ σξ)).
            np.testing.assert_array_equal(ef.memory, w - comp)
            direct = c.compress(w, seed=4, step=step, worker=1)
            self.assertEqual(direct.data, data)

    def test_identity_without_noise(self):
        for spec in ["topk:0.05", "randomk:0.05", "qsgd:7", "sign", "none"]:
            with self.subTest(spec=spec):
                self.check_identity(spec, 0.0)

    def test_identity_with_noise(self):
        for spec in ["topk:0.05", "qsgd:7"]:
            with self.subTest(spec=spec):
                self.check_identity(spec, 0.25)

    def test_lossless_compressor_leaves_no_error(self):
        ef = csgd.ErrorFeedback("fp64", 100)
        g = vector(100, 9)
        data = ef.step(g, seed=0, step=0, worker=0)
        np.testing.assert_array_equal(ef.memory, np.zeros(100, np.float32))
        np.testing.assert_array_equal(ef.compressor.decompress(ef.compressor.decode(data)), g)


class BadInputTests(unittest.TestCase):
    def test_bad_spec_raises_csgd_message(self):
        with self.assertRaises(csgd.CSGDError) as cm:
            csgd.Compressor("bogus", 10)
        msg = str(cm.exception)
        self.assertIn("bogus", msg)
        self.assertNotIn("\n", msg)
        self.assertEqual(cm.exception.status, 1)
        with self.assertRaises(csgd.CSGDError) as cm:
            csgd.Compressor("topk:20", 10)
        self.assertIn("exceeds the dimension d = 10", str(cm.exception))
        with self.assertRaises(csgd.CSGDError):
            csgd.ErrorFeedback("qsgd:0", 10)
        with self.assertRaises(csgd.CSGDError):
            csgd.ErrorFeedback("topk:1", 10, sigma=-1)

    def test_wrong_sizes_and_workers_raise(self):
        c = csgd.Compressor("topk:2", 10)
        with self.assertRaises(csgd.CSGDError):
            c.compress(np.zeros(11, np.float32))
        with self.assertRaises(csgd.CSGDError) as cm:
            c.compress(np.zeros(10, np.float32), worker=1 << 24)
        self.assertIn("24 bits", str(cm.exception))


@unittest.skipUnless(cli_path() is not None, "no csgd command-line tool beside the library (set CSGD_CLI)")
class CommandLineAgreementTests(unittest.TestCase):
    def run_cli(self, *args):
        return subprocess.run([str(cli_path()), *args], capture_output=True, text=True, timeout=120)

    def test_bits_equal_csgd_compress(self):
        d, seed = 5000, 7
        specs = ["randomk:0.01", "topk:0.01", "sketch-topk:0.01", "sign", "qsgd:15", "qsgd:3", "qsgd:15,coding=fixed", "fp64"]
        args = ["compress", "--dim", str(d), "--trials", "1", "--reps", "1", "--seed", str(seed), "--json"]
        for s in specs:
            args += ["--compressor", s]
        r = self.run_cli(*args)
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
        self.assertEqual([row["compressor"] for row in rows], specs)
        # The vector csgd compress measures: its Gaussian stream (seed, step 0, shared, benchmark).
        x = csgd.gaussian(d, seed=seed, step=0, worker=csgd.SHARED, purpose=csgd.BENCHMARK)
        for row in rows:
            with self.subTest(spec=row["compressor"]):
                m = csgd.Compressor(row["compressor"], d).compress(x, seed=seed, step=0, worker=csgd.SHARED,
                                                                   purpose=csgd.BENCHMARK)
                self.assertEqual(m.bits, row["bits"])

    def test_bad_spec_message_equals_csgds(self):
        for spec in ["bogus", "topk:0", "qsgd:15,coding=huffman", "topk:5000"]:
            with self.subTest(spec=spec):
                r = self.run_cli("compress", "--compressor", spec, "--dim", "100", "--trials", "1", "--reps", "1")
                self.assertEqual(r.returncode, 2)
                line = r.stderr.strip()
                self.assertTrue(line.startswith("csgd: error: "), line)
                with self.assertRaises(csgd.CSGDError) as cm:
                    csgd.Compressor(spec, 100)
                self.assertEqual("csgd: error: " + str(cm.exception), line)


def hook_rank(rank, world, port, spec, error_feedback, out_dir):
    """One rank of the hook test: two steps of csgd_hook on a stand-in bucket
    holding csgd.gaussian(d, seed=rank, step=t), written to out_dir."""
    import torch
    import torch.distributed as dist
    from csgd.torch_hooks import CSGDHookState, csgd_hook

    class Bucket:
        def __init__(self, t):
            self.t = t

        def buffer(self):
            return self.t

        def index(self):
            return 0

    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    state = CSGDHookState(spec, seed=5, error_feedback=error_feedback)
    results = []
    for t in range(2):
        g = torch.from_numpy(csgd.gaussian(HOOK_D, seed=rank, step=t))
        results.append(csgd_hook(state, Bucket(g)).wait().numpy().copy())
    np.save(os.path.join(out_dir, "rank%d.npy" % rank), np.stack(results))
    with open(os.path.join(out_dir, "rank%d.json" % rank), "w") as f:
        json.dump({"bytes_sent": state.bytes_sent, "message_bytes": state.message_bytes}, f)
    dist.destroy_process_group()


HOOK_D = 3000


@unittest.skipUnless(importlib.util.find_spec("torch") is not None, "torch is not installed")
class TorchHookTests(unittest.TestCase):
    """csgd_hook in a real 2-process gloo group returns, on every rank, the
    average of every rank's error-feedback message (computed here with the
    binding alone), and counts the bytes it sent."""

    def run_hook(self, spec, error_feedback):
        import torch.multiprocessing as mp
        world = 2
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        with tempfile.TemporaryDirectory() as tmp:
            mp.spawn(hook_rank, args=(world, port, spec, error_feedback, tmp), nprocs=world, join=True)
            got = [np.load(os.path.join(tmp, "rank%d.npy" % r)) for r in range(world)]
            counts = [json.load(open(os.path.join(tmp, "rank%d.json" % r))) for r in range(world)]
        efs = [csgd.ErrorFeedback(spec, HOOK_D) for _ in range(world)]
        c = csgd.Compressor(spec, HOOK_D)
        sent = [0] * world
        longest_total = 0
        for t in range(2):
            want = np.zeros(HOOK_D, np.float32)
            lengths = []
            for r in range(world):
                g = csgd.gaussian(HOOK_D, seed=r, step=t)
                m = efs[r].step_message(g, 5, t, r) if error_feedback else c.compress(g, 5, t, r)
                lengths.append(len(m.data))
                sent[r] += len(m.data)
                c.decompress(m, out=want, scale=1.0 / world, accumulate=True)
            longest_total += 8 + max(lengths)
            for r in range(world):
                np.testing.assert_array_equal(got[r][t], want)
        for r in range(world):
            self.assertEqual(counts[r]["message_bytes"], sent[r])
            self.assertEqual(counts[r]["bytes_sent"], longest_total)

    def test_topk_with_error_feedback(self):
        self.run_hook("topk:0.05", True)

    def test_qsgd_without_error_feedback(self):
        self.run_hook("qsgd:15", False)


if __name__ == "__main__":
    unittest.main()
