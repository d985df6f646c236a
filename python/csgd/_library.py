"""Locating and loading libcsgd_c.so and declaring its C functions (python/include/csgd.h)."""

import ctypes
import os
from pathlib import Path

_NAMES = ("libcsgd_c.so", "libcsgd_c.dylib")


def candidate_paths():
    """Where the library is looked for, in order: $CSGD_LIBRARY, then the SwiftPM
    build directories (.build/release, then .build/debug) of the repository this
    package lies in, then of the working directory and its parents."""
    env = os.environ.get("CSGD_LIBRARY")
    if env:
        return [Path(env)]
    roots = []
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for p in (start, *start.parents):
            if p not in roots:
                roots.append(p)
    out = []
    for root in roots:
        for config in ("release", "debug"):
            for name in _NAMES:
                out.append(root / ".build" / config / name)
    return out


def _load():
    paths = candidate_paths()
    for p in paths:
        if p.is_file():
            return ctypes.CDLL(str(p)), p
    where = os.environ.get("CSGD_LIBRARY") or "the SwiftPM build directories .build/{release,debug}"
    raise OSError(
        "csgd: libcsgd_c.so not found in %s; build it with "
        "'swift build -c release --product csgd_c' (or scripts/setup) in the csgd repository, "
        "or set CSGD_LIBRARY to its path" % where)


lib, path = _load()

_p = ctypes.c_void_p
_f32p = ctypes.POINTER(ctypes.c_float)
_u8p = ctypes.POINTER(ctypes.c_uint8)
_i64 = ctypes.c_int64
_u64 = ctypes.c_uint64
_u32 = ctypes.c_uint32
_u8 = ctypes.c_uint8
_size = ctypes.c_size_t
_err = (ctypes.c_char_p, _size)


def _declare(name, *args):
    fn = getattr(lib, name)
    fn.argtypes = list(args)
    fn.restype = ctypes.c_int
    return fn


compressor_create = _declare("csgd_compressor_create", ctypes.c_char_p, _i64, ctypes.POINTER(_p), *_err)
compressor_destroy = lib.csgd_compressor_destroy
compressor_destroy.argtypes = [_p]
compressor_destroy.restype = None
compressor_info = _declare("csgd_compressor_info", _p, ctypes.POINTER(_i64), ctypes.POINTER(_size),
                           ctypes.POINTER(ctypes.c_int32), ctypes.POINTER(ctypes.c_int32),
                           ctypes.c_char_p, _size, *_err)
compress = _declare("csgd_compress", _p, _f32p, _i64, _u64, _u64, _u32, _u8, _u8p, _size,
                    ctypes.POINTER(_size), ctypes.POINTER(_i64), *_err)
decode = _declare("csgd_decode", _p, _u8p, _size, _u64, _u64, _u32, _u8, ctypes.POINTER(_i64), *_err)
decompress = _declare("csgd_decompress", _p, _u8p, _size, _u64, _u64, _u32, _u8, _f32p, _i64,
                      ctypes.c_float, ctypes.c_int32, *_err)
ef_create = _declare("csgd_ef_create", ctypes.c_char_p, _i64, ctypes.c_float, ctypes.POINTER(_p), *_err)
ef_destroy = lib.csgd_ef_destroy
ef_destroy.argtypes = [_p]
ef_destroy.restype = None
ef_max_bytes = _declare("csgd_ef_max_bytes", _p, ctypes.POINTER(_size), *_err)
ef_step = _declare("csgd_ef_step", _p, _f32p, _i64, _u64, _u64, _u32, _u8p, _size,
                   ctypes.POINTER(_size), ctypes.POINTER(_i64), *_err)
ef_get_memory = _declare("csgd_ef_get_memory", _p, _f32p, _i64, *_err)
ef_set_memory = _declare("csgd_ef_set_memory", _p, _f32p, _i64, *_err)
gaussian = _declare("csgd_gaussian", _u64, _u64, _u32, _u8, ctypes.c_float, _f32p, _i64, *_err)
