"""Linux process confinement for the executor's UDF processes (see `udf_process`).

- `make_undumpable()`: other processes of the same user can no longer read this one's
  `/proc/<pid>/environ` or memory (the executor's S3 keys are in both). The executor
  sets it in every process that holds them: the server, the forkserver and workers of
  synchronous requests, and a batch job's `run-job`.
- `confine_udf_process()`: a UDF process drops every capability (also when the
  container runs as root), cannot gain privileges, and gets a seccomp filter that
  refuses network sockets (everything but `AF_UNIX`), `io_uring` (which could open them
  too) and reading or tracing other processes.

- `restrict_files()`: with Landlock (Linux 5.13 and later, where the kernel enables it),
  a UDF process reads only the system's and Python's directories and writes only its
  own directory, so it cannot read other requests' scratch files. Without Landlock this
  layer is missing (the UDF process then says so on its standard error).

Only x86-64 and AArch64 are known; elsewhere `confine_udf_process` raises
`SandboxUnavailable` and no UDF runs.
"""

import ctypes
import errno
import os
import platform
import struct
from collections.abc import Iterable

_PR_SET_DUMPABLE = 4
_PR_CAPBSET_DROP = 24
_CAP_LAST_CAP_FILE = "/proc/sys/kernel/cap_last_cap"
_CAPABILITY_VERSION_3 = 0x20080522
_PR_SET_SECCOMP = 22
_PR_SET_NO_NEW_PRIVS = 38
_SECCOMP_MODE_FILTER = 2

_BPF_LD_W_ABS = 0x00 | 0x00 | 0x20
_BPF_JEQ_K = 0x05 | 0x10 | 0x00
_BPF_RET_K = 0x06 | 0x00
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_RET_KILL_PROCESS = 0x80000000
# Offsets in `struct seccomp_data`: the syscall number, the architecture, the first argument.
_NR, _ARCH, _ARG0 = 0, 4, 16
_AF_UNIX = 1

# AUDIT_ARCH and the numbers of the refused system calls, per machine.
_ARCHITECTURES = {
    "x86_64": (
        0xC000003E,
        {
            "capset": 126,
            "socket": 41,
            "ptrace": 101,
            "process_vm_readv": 310,
            "process_vm_writev": 311,
            "io_uring_setup": 425,
        },
    ),
    "aarch64": (
        0xC00000B7,
        {
            "capset": 91,
            "socket": 198,
            "ptrace": 117,
            "process_vm_readv": 270,
            "process_vm_writev": 271,
            "io_uring_setup": 425,
        },
    ),
}


class SandboxUnavailable(Exception):
    """This machine cannot confine a UDF process."""


def _prctl(option: int, value: int, pointer: object = 0) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, pointer, 0, 0) != 0:
        code = ctypes.get_errno()
        raise SandboxUnavailable(f"prctl({option}) failed: {errno.errorcode.get(code, code)}")


def make_undumpable() -> None:
    """Keep other processes of this user out of this one's /proc files and memory."""
    _prctl(_PR_SET_DUMPABLE, 0)


def _instruction(code: int, k: int, jump_true: int = 0, jump_false: int = 0) -> bytes:
    return struct.pack("HBBI", code, jump_true, jump_false, k)


def seccomp_program(machine: str) -> bytes:
    """The filter (classic BPF) for `machine`: see the module."""
    if machine not in _ARCHITECTURES:
        raise SandboxUnavailable(f"no UDF sandbox for the {machine} architecture")
    audit_arch, numbers = _ARCHITECTURES[machine]
    refused = [numbers[name] for name in numbers if name not in ("socket", "capset")]
    program = [
        _instruction(_BPF_LD_W_ABS, _ARCH),
        _instruction(_BPF_JEQ_K, audit_arch, 1, 0),
        _instruction(_BPF_RET_K, _RET_KILL_PROCESS),
        _instruction(_BPF_LD_W_ABS, _NR),
    ]
    for number in refused:
        # Equal: fall through to the refusal; otherwise skip it.
        program += [
            _instruction(_BPF_JEQ_K, number, 0, 1),
            _instruction(_BPF_RET_K, _RET_ERRNO | errno.EPERM),
        ]
    program += [
        _instruction(_BPF_JEQ_K, numbers["socket"], 0, 3),
        _instruction(_BPF_LD_W_ABS, _ARG0),
        _instruction(_BPF_JEQ_K, _AF_UNIX, 1, 0),
        _instruction(_BPF_RET_K, _RET_ERRNO | errno.EPERM),
        _instruction(_BPF_RET_K, _RET_ALLOW),
    ]
    return b"".join(program)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def drop_capabilities(machine: str) -> None:
    """Empty the bounding set (where allowed: it takes CAP_SETPCAP) and the effective,
    permitted and inheritable sets, so that even a root user holds no privilege."""
    if machine not in _ARCHITECTURES:
        raise SandboxUnavailable(f"no UDF sandbox for the {machine} architecture")
    libc = ctypes.CDLL(None, use_errno=True)
    with open(_CAP_LAST_CAP_FILE) as file:
        last = int(file.read())
    for capability in range(last + 1):
        # EPERM without CAP_SETPCAP: an unprivileged user's bounding set is moot anyway.
        libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0)
    header = struct.pack("Ii", _CAPABILITY_VERSION_3, 0)
    data = bytes(24)  # two `__user_cap_data_struct`s of three zero words
    number = _ARCHITECTURES[machine][1]["capset"]
    if libc.syscall(number, header, data) != 0:
        code = ctypes.get_errno()
        raise SandboxUnavailable(f"capset failed: {errno.errorcode.get(code, code)}")


def confine_udf_process() -> None:
    """Confine the calling process for good (see the module); SandboxUnavailable if the
    system refuses."""
    make_undumpable()
    drop_capabilities(platform.machine())
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)
    program = seccomp_program(platform.machine())
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    _prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog))


# Landlock (system call numbers are the same on x86-64 and AArch64).
_LANDLOCK_CREATE_RULESET = 444
_LANDLOCK_ADD_RULE = 445
_LANDLOCK_RESTRICT_SELF = 446
_LANDLOCK_RULE_PATH_BENEATH = 1
_LANDLOCK_CREATE_RULESET_VERSION = 1
# ABI 1 rights: execute, write, read file, read dir, remove dir/file, make char, dir, reg,
# sock, fifo, block, sym.
_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1, 2, 4, 8
_FS_ALL_V1 = (1 << 13) - 1
_READ = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 without Landlock."""
    libc = ctypes.CDLL(None, use_errno=True)
    version = libc.syscall(_LANDLOCK_CREATE_RULESET, None, 0, _LANDLOCK_CREATE_RULESET_VERSION)
    return max(0, int(version))


def restrict_files(readable: Iterable[str], writable: Iterable[str]) -> bool:
    """Limit the calling process (for good) to reading below `readable` and reading and
    writing below `writable` (paths that do not exist are skipped); False where the
    kernel has no Landlock, SandboxUnavailable if it refuses."""
    if landlock_abi() < 1:
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    attributes = struct.pack("Q", _FS_ALL_V1)
    ruleset = libc.syscall(_LANDLOCK_CREATE_RULESET, attributes, len(attributes), 0)
    if ruleset < 0:
        raise SandboxUnavailable(f"landlock_create_ruleset failed: {ctypes.get_errno()}")
    try:
        rules = [(path, _READ) for path in readable] + [(path, _FS_ALL_V1) for path in writable]
        for path, access in rules:
            try:
                descriptor = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                if not os.path.isdir(path):
                    access &= _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE
                rule = struct.pack("=Qi", access, descriptor)
                if libc.syscall(_LANDLOCK_ADD_RULE, ruleset, _LANDLOCK_RULE_PATH_BENEATH, rule, 0):
                    raise SandboxUnavailable(f"landlock_add_rule failed for {path}")
            finally:
                os.close(descriptor)
        if libc.syscall(_LANDLOCK_RESTRICT_SELF, ruleset, 0) != 0:
            raise SandboxUnavailable(f"landlock_restrict_self failed: {ctypes.get_errno()}")
    finally:
        os.close(ruleset)
    return True
