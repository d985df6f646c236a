"""Calling a csgd C function: a per-call error buffer, the status turned into an exception."""

import ctypes

import numpy as np


class CSGDError(ValueError):
    """A failure reported by csgd: the one-line message csgd itself prints
    (without its 'csgd: error: ' prefix), and the C status code."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


class MalformedMessage(CSGDError):
    """Bytes that are not one message of the compressor (CSGD_MALFORMED_MESSAGE)."""


_ERRLEN = 512
_MALFORMED = 2


def check(fn, *args):
    """fn(*args, err, errlen); raises CSGDError with csgd's message when the status is not 0."""
    err = ctypes.create_string_buffer(_ERRLEN)
    status = fn(*args, err, _ERRLEN)
    if status != 0:
        message = err.value.decode("utf-8", errors="replace")
        raise (MalformedMessage if status == _MALFORMED else CSGDError)(message, status)


def floats(x, d, what):
    """x as a C-contiguous float32 array of d elements (no copy when it already is one)."""
    a = np.ascontiguousarray(x, dtype=np.float32)
    if a.ndim != 1 or a.shape[0] != d:
        raise CSGDError("%s has shape %s but the dimension is %d" % (what, a.shape, d), 1)
    return a


def float_ptr(a):
    return a.ctypes.data_as(ctypes.POINTER(ctypes.c_float))


def byte_ptr(a):
    return a.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))
