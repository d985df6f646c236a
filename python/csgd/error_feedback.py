"""csgd.ErrorFeedback: one worker's error-feedback memory around a compressor."""

import ctypes

import numpy as np

from . import _library as L
from ._call import check, floats, float_ptr, byte_ptr
from .compressor import Compressor, Message
from .keys import QUANTIZATION


class ErrorFeedback:
    """Error feedback (Stich et al. 2018) with the optional Gaussian
    perturbation of Avdiukhin & Yaroslavtsev (2021, Algorithm 1), as csgd runs it:
    e ← (g + σξ) + e, m = C(e), e ← e − C(m), the memory e starting at 0.
    ξ is csgd's shared stream of (seed, step), C is keyed by (seed, step, worker)."""

    def __init__(self, spec, d, sigma=0.0):
        handle = ctypes.c_void_p()
        check(L.ef_create, str(spec).encode("utf-8"), int(d), float(sigma), ctypes.byref(handle))
        self._handle = handle
        self.sigma = float(sigma)
        #: The compressor, for decoding and decompressing this worker's (and others') messages.
        self.compressor = Compressor(spec, d)
        self.dimension = self.compressor.dimension
        size = ctypes.c_size_t()
        check(L.ef_max_bytes, handle, ctypes.byref(size))
        self.max_bytes = size.value

    def __del__(self):
        h = getattr(self, "_handle", None)
        # At interpreter exit the module may already be torn down (L is None).
        if h is not None and h.value and L is not None:
            L.ef_destroy(h)
            self._handle = None

    def step_message(self, grad, seed, step, worker):
        """One step on `grad`; returns the Message (bytes, exact bits, key)."""
        g = floats(grad, self.dimension, "the gradient")
        out = np.empty(max(self.max_bytes, 1), dtype=np.uint8)   # per call: threads may share a memory
        nbytes = ctypes.c_size_t()
        nbits = ctypes.c_int64()
        check(L.ef_step, self._handle, float_ptr(g), self.dimension, seed, step, worker,
              byte_ptr(out), out.shape[0], ctypes.byref(nbytes), ctypes.byref(nbits))
        return Message(out[:nbytes.value].tobytes(), nbits.value, seed, step, worker, QUANTIZATION)

    def step(self, grad, seed, step, worker):
        """One step on `grad`; returns the encoded bytes of m = C(e + g + σξ)."""
        return self.step_message(grad, seed, step, worker).data

    @property
    def memory(self):
        """A copy of the memory e."""
        out = np.empty(self.dimension, dtype=np.float32)
        check(L.ef_get_memory, self._handle, float_ptr(out), self.dimension)
        return out

    @memory.setter
    def memory(self, values):
        v = floats(values, self.dimension, "the memory")
        check(L.ef_set_memory, self._handle, float_ptr(v), self.dimension)
