"""csgd.Compressor: one of csgd's compressors for vectors of d float32."""

import ctypes
from dataclasses import dataclass

import numpy as np

from . import _library as L
from ._call import check, floats, float_ptr, byte_ptr
from .keys import SHARED, QUANTIZATION


@dataclass(frozen=True)
class Message:
    """One encoded message: its bytes (padded to whole bytes), its exact bit
    count, and the key it was made with (RandomK and sketch-topk need the seed
    and step to decode)."""
    data: bytes
    bits: int
    seed: int = 0
    step: int = 0
    worker: int = SHARED
    purpose: int = QUANTIZATION


class Compressor:
    """A csgd compressor from its spec (`topk:0.01`, `randomk:100`, `qsgd:15`,
    `sign`, `sketch-topk:0.01`, `fp64`, `none`) for vectors of dimension d.

    Raises CSGDError with csgd's one-line message for a bad spec."""

    def __init__(self, spec, d):
        handle = ctypes.c_void_p()
        check(L.compressor_create, str(spec).encode("utf-8"), int(d), ctypes.byref(handle))
        self._handle = handle
        dim = ctypes.c_int64()
        max_bytes = ctypes.c_size_t()
        linear = ctypes.c_int32()
        unbiased = ctypes.c_int32()
        desc = ctypes.create_string_buffer(256)
        check(L.compressor_info, handle, ctypes.byref(dim), ctypes.byref(max_bytes), ctypes.byref(linear),
              ctypes.byref(unbiased), desc, 256)
        self.spec = desc.value.decode("utf-8")
        self.dimension = dim.value
        self.max_bytes = max_bytes.value
        self.is_linear = bool(linear.value)
        self.is_unbiased = bool(unbiased.value)

    def __del__(self):
        h = getattr(self, "_handle", None)
        # At interpreter exit the module may already be torn down (L is None).
        if h is not None and h.value and L is not None:
            L.compressor_destroy(h)
            self._handle = None

    def __repr__(self):
        return "Compressor(%r, d=%d)" % (self.spec, self.dimension)

    def compress(self, x, seed=0, step=0, worker=SHARED, purpose=QUANTIZATION):
        """m = C(x) with the randomness of key (seed, step, worker, purpose), encoded."""
        a = floats(x, self.dimension, "the input vector")
        out = np.empty(max(self.max_bytes, 1), dtype=np.uint8)   # per call: threads may share a compressor
        nbytes = ctypes.c_size_t()
        nbits = ctypes.c_int64()
        check(L.compress, self._handle, float_ptr(a), self.dimension, seed, step, worker, purpose,
              byte_ptr(out), out.shape[0], ctypes.byref(nbytes), ctypes.byref(nbits))
        return Message(out[:nbytes.value].tobytes(), nbits.value, seed, step, worker, purpose)

    def decode(self, data, seed=0, step=0, worker=SHARED, purpose=QUANTIZATION):
        """Checks that `data` is exactly one message of this compressor (the key
        as at compression) and returns it with its exact bit count; raises
        MalformedMessage otherwise."""
        b = np.frombuffer(bytes(data), dtype=np.uint8)
        nbits = ctypes.c_int64()
        check(L.decode, self._handle, byte_ptr(b), b.shape[0], seed, step, worker, purpose, ctypes.byref(nbits))
        return Message(bytes(data), nbits.value, seed, step, worker, purpose)

    def decompress(self, msg, out=None, scale=1.0, accumulate=False):
        """C as a dense float32 vector: out = scale·C, or out += scale·C with
        accumulate (out given). `msg` is a Message (its key is used)."""
        if out is None:
            if accumulate:
                raise ValueError("accumulate needs an output vector")
            out = np.empty(self.dimension, dtype=np.float32)
        elif out.dtype != np.float32 or not out.flags.c_contiguous or out.shape != (self.dimension,):
            raise ValueError("out must be a contiguous float32 vector of %d elements" % self.dimension)
        b = np.frombuffer(msg.data, dtype=np.uint8)
        check(L.decompress, self._handle, byte_ptr(b), b.shape[0], msg.seed, msg.step, msg.worker, msg.purpose,
              float_ptr(out), self.dimension, float(scale), 1 if accumulate else 0)
        return out


def gaussian(d, seed, step=0, worker=SHARED, purpose=0, sigma=1.0):
    """d float32 deviates σ·z of csgd's Gaussian stream of key (seed, step, worker, purpose)."""
    out = np.empty(int(d), dtype=np.float32)
    check(L.gaussian, seed, step, worker, purpose, float(sigma), float_ptr(out), int(d))
    return out
