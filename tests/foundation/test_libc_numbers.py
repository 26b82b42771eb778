"""The C library's number readers, ``strtol``, ``strtoul`` and ``strtod``: the value, where the
number ends and errno must be glibc's, which is the judge, called through ctypes on the same
text."""

from __future__ import annotations

import ctypes
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuxnet.kernel.errno import ERANGE
from tuxnet.user import libc

try:
    _GLIBC = ctypes.CDLL("libc.so.6", use_errno=True)
except OSError:
    _GLIBC = None
needs_glibc = pytest.mark.skipif(_GLIBC is None, reason="needs glibc (libc.so.6) as the judge")


def glibc(name: str, text: str, base: int = 10) -> tuple[float | int, int, int]:
    """``name(text, &end[, base])`` in glibc: the value, the end's offset, errno."""
    fn = getattr(_GLIBC, name)
    raw = text.encode()
    buf = ctypes.create_string_buffer(raw)
    end = ctypes.c_char_p()
    fn.restype = {"strtod": ctypes.c_double, "strtol": ctypes.c_long, "strtoul": ctypes.c_ulong}[name]
    args = (buf, ctypes.byref(end)) + (() if name == "strtod" else (base,))
    ctypes.set_errno(0)
    value = fn(*args)
    err = ctypes.get_errno()
    offset = ctypes.cast(end, ctypes.c_void_p).value - ctypes.addressof(buf)
    return value, len(raw[:offset].decode()), err


def same(ours: tuple, theirs: tuple) -> bool:
    if isinstance(ours[0], float) and math.isnan(ours[0]):
        return math.isnan(theirs[0]) and ours[1:] == theirs[1:]
    return ours == theirs and math.copysign(1, ours[0]) == math.copysign(1, theirs[0])


EDGES = ["", " ", "5", "0x1f", "0X", "0xg", "010", "09", "-0x10", " +0x7fffffffffffffff", "0x8000000000000000",
         " -5", "+7", "5 ", "1_0", "0x10", "99999999999999999999", "-99999999999999999999",
         "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
         "18446744073709551615", "18446744073709551616", "-1", "\t\n12x", "٣", "1e400", "-1e400", "1e-400",
         "1e-310", "2.2250738585072014e-308", "0x1p-1", "0x1P+3", "0x.8", "0x", "0x.", "0xg", "0x1p", "0x1p+",
         "0x1p99999", "1e", "1e+", ".5", "5.", ".", "-.", "inf", "-INFINITY", "infinit", "nan", "nan(12_ab)",
         "nan(", "nan(1.2)", "NaN()", "1.5e3x", "0.0", "-0", "00012", "1,5"]
TEXT = st.text(alphabet="0123456789abcdefxXpPeE+-. \tinfatyINF()_,", max_size=14)


@needs_glibc
@pytest.mark.parametrize("name", ["strtol", "strtoul", "strtod"])
def test_the_edges_read_as_glibc_reads_them(name: str) -> None:
    for text in EDGES:
        assert same(getattr(libc, name)(text), glibc(name, text)), text


@needs_glibc
@settings(max_examples=1000, deadline=None)
@given(text=TEXT)
def test_any_text_reads_as_glibc_reads_it(text: str) -> None:
    for name in ("strtol", "strtoul", "strtod"):
        assert same(getattr(libc, name)(text), glibc(name, text)), (name, text)
    for base in (0, 8, 16):
        assert libc.strtol(text, base=base) == glibc("strtol", text, base), (base, text)
        assert libc.strtoul(text, base=base) == glibc("strtoul", text, base), (base, text)


@needs_glibc
@pytest.mark.parametrize("base", [0, 8, 16])
def test_the_edges_in_other_bases(base: int) -> None:
    for text in EDGES:
        assert libc.strtol(text, base=base) == glibc("strtol", text, base), text
        assert libc.strtoul(text, base=base) == glibc("strtoul", text, base), text


@needs_glibc
def test_atoi_is_glibcs() -> None:
    _GLIBC.atoi.restype = ctypes.c_int
    for text in [*EDGES, "4294967297", "2147483648", "-2147483649", "99999999999999999999"]:
        assert libc.atoi(text) == _GLIBC.atoi(text.encode()), text


def test_a_start_offset_and_erange() -> None:
    assert libc.strtoul("[1-5:18446744073709551616]", 5) == (libc.ULONG_MAX, 25, ERANGE)
    assert libc.strtol("x 42y", 1) == (42, 4, 0)
    assert libc.strtol("x y", 1) == (0, 1, 0)
    assert libc.strtod("1e-400") == (0.0, 6, ERANGE)


try:
    _LIBBSD = ctypes.CDLL("libbsd.so.0")
except OSError:
    _LIBBSD = None


@pytest.mark.skipif(_LIBBSD is None, reason="needs libbsd (netcat-openbsd's) as the judge")
@pytest.mark.parametrize("bounds", [(1, 65535), (0, 2147483), (-(1 << 31), (1 << 31) - 1)])
def test_strtonum_is_libbsds(bounds: tuple[int, int]) -> None:
    fn = _LIBBSD.strtonum
    fn.restype = ctypes.c_longlong
    fn.argtypes = [ctypes.c_char_p, ctypes.c_longlong, ctypes.c_longlong, ctypes.POINTER(ctypes.c_char_p)]
    for text in [*EDGES, "65535", "65536", "0", "2147484", "-2147483649"]:
        error = ctypes.c_char_p()
        value = fn(text.encode(), *bounds, ctypes.byref(error))
        assert libc.strtonum(text, *bounds) == (value, error.value.decode() if error.value else None), text
