#!/usr/bin/env python3
"""Runs a command where the kernel key service is blocked, as a container's
seccomp profile blocks it (Docker's default profile answers add_key,
request_key and keyctl with EPERM). The filter is the kernel's own seccomp,
installed here and inherited by the command and its children.

Usage: no-keyctl.py [--errno EPERM|ENOSYS] COMMAND [ARG...]
"""
import ctypes
import errno
import os
import platform
import struct
import sys

# (audit arch, add_key, request_key, keyctl) per machine.
ARCHES = {
    "x86_64": (0xC000003E, (248, 249, 250)),
    "aarch64": (0xC00000B7, (217, 218, 219)),
}
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_KILL_PROCESS = 0x80000000
BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_RET_K = 0x06


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def insn(code, jt, jf, k):
    return struct.pack("HBBI", code, jt, jf, k)


def main():
    args = sys.argv[1:]
    err = errno.EPERM
    if args[:1] == ["--errno"]:
        err = getattr(errno, args[1])
        args = args[2:]
    if not args:
        sys.exit(__doc__)
    arch, calls = ARCHES[platform.machine()]
    n = len(calls)
    prog = [
        insn(BPF_LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
        insn(BPF_JEQ_K, 1, 0, arch),
        insn(BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS),
        insn(BPF_LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
    ]
    for i, nr in enumerate(calls):
        # Equal: jump over the remaining tests and the allow to the deny.
        prog.append(insn(BPF_JEQ_K, n - i, 0, nr))
    prog.append(insn(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW))
    prog.append(insn(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | err))
    code = b"".join(prog)
    buf = ctypes.create_string_buffer(code, len(code))
    fprog = SockFprog(len(prog), ctypes.cast(buf, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, None, 0, 0) != 0:
        sys.exit("prctl(PR_SET_NO_NEW_PRIVS): " + os.strerror(ctypes.get_errno()))
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        sys.exit("prctl(PR_SET_SECCOMP): " + os.strerror(ctypes.get_errno()))
    os.execvp(args[0], args)


main()
