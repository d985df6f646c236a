"""csgd: csgd's compressors (exact wire formats) and error feedback from Python,
over the C ABI of the Swift library (libcsgd_c.so)."""

from ._call import CSGDError, MalformedMessage
from .compressor import Compressor, Message, gaussian
from .error_feedback import ErrorFeedback
from .keys import SHARED, PERTURBATION, QUANTIZATION, BENCHMARK
from ._library import path as library_path

__all__ = ["Compressor", "Message", "ErrorFeedback", "CSGDError", "MalformedMessage", "gaussian",
           "SHARED", "PERTURBATION", "QUANTIZATION", "BENCHMARK", "library_path"]
