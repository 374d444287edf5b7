"""Linux process confinement for the executor's UDF processes (see `udf_process`).

- `make_undumpable()`: other processes of the same user can no longer read this one's
  `/proc/<pid>/environ` or memory (the executor's S3 keys are in both). The executor
  sets it in every process that holds them: the server, the forkserver and workers of
  synchronous requests, and a batch job's `run-job`.
- `confine_udf_process()`: what a UDF process does to itself before any UDF code runs,
  while it still has one thread (every later thread inherits it):
  - a user of its own where the executor runs as root (`uid_base` + its pid): signals,
    process counts and ownership are its own; it keeps reading files as the executor's
    user (`setfsuid`), so a Python installed in a private home still imports, and no
    call can switch users again (seccomp);
  - no capabilities (also when the container runs as root), no new privileges, killed
    with the process that started it (`PR_SET_PDEATHSIG`);
  - resource limits (`UdfLimits`): memory, CPU time, file size, processes and threads;
  - Landlock: reading only the system's and Python's files (not `/proc` of other
    processes, not `/etc/shadow`), writing only its own directory; from ABI 4 no TCP,
    from ABI 6 no abstract Unix sockets and no signals out of its own processes;
  - a seccomp filter: no socket of any kind (the pipes inherited from the executor are
    its only channel), no `io_uring`, no new session or process group (so killing its
    group ends every process it started), no namespaces, no user or group changes, no
    tracing or reading other processes, no signal but to itself or its own group, no
    kernel keyrings, mounts, BPF or perf events.

`SandboxSupport.probe()` tells whether this machine can confine UDF processes. Without
seccomp or Landlock UDFs are refused (`SandboxSupport.reason` says why), unless the
operator sets `OPENEO_EXECUTOR_UDF_UNSAFE_WITHOUT_LANDLOCK`, which runs them without
Landlock's file fence and says so in `GET /udf_runtimes`. Only x86-64 and AArch64 are
known; elsewhere no UDF runs.
"""

import ctypes
import errno
import functools
import math
import os
import platform
import resource
import signal
import struct
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eoplex_executor.engine.settings import ExecutorSettings

_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_PR_CAPBSET_DROP = 24
_CAP_LAST_CAP_FILE = "/proc/sys/kernel/cap_last_cap"
_CAPABILITY_VERSION_3 = 0x20080522
_PR_SET_SECCOMP = 22
_PR_SET_NO_NEW_PRIVS = 38
_SECCOMP_MODE_FILTER = 2

_BPF_LD_W_ABS = 0x00 | 0x00 | 0x20
_BPF_JEQ_K = 0x05 | 0x10 | 0x00
_BPF_JGE_K = 0x05 | 0x30 | 0x00
_BPF_JSET_K = 0x05 | 0x40 | 0x00
_BPF_RET_K = 0x06 | 0x00
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_RET_KILL_PROCESS = 0x80000000
# Offsets in `struct seccomp_data`: the syscall number, the architecture, the low words
# of the first two arguments (little-endian machines only, as both known ones are).
_NR, _ARCH, _ARG0, _ARG1 = 0, 4, 16, 24
# x32 system calls on x86-64 carry this bit: refused as a whole.
_X32_SYSCALL_BIT = 0x40000000
# clone() flags that make namespaces (NEWTIME, NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER,
# NEWPID, NEWNET).
_CLONE_NAMESPACES = 0x80 | 0x20000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000
_CLONE_NAMESPACES |= 0x20000000 | 0x40000000

# Refused outright: sockets, io_uring, sessions and groups, namespaces, identities,
# tracing, keyrings, mounts, BPF, perf and file handles.
_REFUSED = (
    "socket socketpair connect bind listen accept accept4 io_uring_setup setsid setpgid "
    "unshare setns setuid setgid setreuid setregid setresuid setresgid setfsuid setfsgid "
    "setgroups capset ptrace process_vm_readv process_vm_writev kcmp pidfd_getfd "
    "pidfd_send_signal rt_sigqueueinfo rt_tgsigqueueinfo keyctl add_key request_key bpf "
    "perf_event_open userfaultfd mount umount2 pivot_root chroot open_by_handle_at "
    "name_to_handle_at fanotify_init move_mount open_tree fsopen fsmount fspick "
    "mount_setattr"
).split()

# AUDIT_ARCH and the numbers of the system calls the filter names, per machine.
_X86_64 = {
    "socket": 41, "socketpair": 53, "connect": 42, "bind": 49, "listen": 50, "accept": 43,
    "accept4": 288, "io_uring_setup": 425, "setsid": 112, "setpgid": 109, "unshare": 272,
    "setns": 308, "setuid": 105, "setgid": 106, "setreuid": 113, "setregid": 114,
    "setresuid": 117, "setresgid": 119, "setfsuid": 122, "setfsgid": 123, "setgroups": 116,
    "capset": 126, "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
    "kcmp": 312, "pidfd_getfd": 438, "pidfd_send_signal": 424, "rt_sigqueueinfo": 129,
    "rt_tgsigqueueinfo": 297, "keyctl": 250, "add_key": 248, "request_key": 249, "bpf": 321,
    "perf_event_open": 298, "userfaultfd": 323, "mount": 165, "umount2": 166,
    "pivot_root": 155, "chroot": 161, "open_by_handle_at": 304, "name_to_handle_at": 303,
    "fanotify_init": 300, "move_mount": 429, "open_tree": 428, "fsopen": 430, "fsmount": 432,
    "fspick": 433, "mount_setattr": 442, "clone": 56, "clone3": 435, "kill": 62,
    "tkill": 200, "tgkill": 234,
}  # fmt: skip
_AARCH64 = {
    "socket": 198, "socketpair": 199, "connect": 203, "bind": 200, "listen": 201,
    "accept": 202, "accept4": 242, "io_uring_setup": 425, "setsid": 157, "setpgid": 154,
    "unshare": 97, "setns": 268, "setuid": 146, "setgid": 144, "setreuid": 145,
    "setregid": 143, "setresuid": 147, "setresgid": 149, "setfsuid": 151, "setfsgid": 152,
    "setgroups": 159, "capset": 91, "ptrace": 117, "process_vm_readv": 270,
    "process_vm_writev": 271, "kcmp": 272, "pidfd_getfd": 438, "pidfd_send_signal": 424,
    "rt_sigqueueinfo": 138, "rt_tgsigqueueinfo": 240, "keyctl": 219, "add_key": 217,
    "request_key": 218, "bpf": 280, "perf_event_open": 241, "userfaultfd": 282, "mount": 40,
    "umount2": 39, "pivot_root": 41, "chroot": 51, "open_by_handle_at": 265,
    "name_to_handle_at": 264, "fanotify_init": 262, "move_mount": 429, "open_tree": 428,
    "fsopen": 430, "fsmount": 432, "fspick": 433, "mount_setattr": 442, "clone": 220,
    "clone3": 435, "kill": 129, "tkill": 130, "tgkill": 131,
}  # fmt: skip
_ARCHITECTURES = {"x86_64": (0xC000003E, _X86_64), "aarch64": (0xC00000B7, _AARCH64)}
# setfsuid/setfsgid: number per machine, called before the filter forbids them.
_SETFSUID = {"x86_64": 122, "aarch64": 151}

# UDF processes run as this user id plus their pid, where the executor is root.
DEFAULT_UID_BASE = 1_500_000_000


class SandboxUnavailable(Exception):
    """This machine cannot confine a UDF process."""


@dataclass(frozen=True, kw_only=True)
class UdfLimits:
    """What one UDF process may use (`resource.setrlimit`); 0: no limit.

    - `memory_bytes`: its data (heap and private mappings, `RLIMIT_DATA`); its address
      space may exceed it by `ADDRESS_SPACE_HEADROOM` for code and thread stacks;
    - `cpu_seconds`: CPU time (`RLIMIT_CPU`), over the process's life;
    - `file_bytes`: the largest file it may write (`RLIMIT_FSIZE`);
    - `tasks`: its processes and threads together (`RLIMIT_NPROC`, counted for its own
      user; where it has none, the container's process limit bounds them instead).
    """

    memory_bytes: int = 2 * 2**30
    cpu_seconds: int = 300
    file_bytes: int = 2**30
    tasks: int = 64

    ADDRESS_SPACE_HEADROOM = 2 * 2**30

    def as_dict(self) -> dict[str, int]:
        """The limits as JSON."""
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class SandboxSupport:
    """What this machine offers to confine UDF processes (`probe`)."""

    machine: str
    seccomp: bool
    landlock_abi: int
    separate_users: bool
    unsafe_without_landlock: bool = False

    @classmethod
    def probe(cls, *, unsafe_without_landlock: bool = False) -> "SandboxSupport":
        """This machine and process: the architecture, seccomp, Landlock's ABI version,
        and whether UDF processes can get users of their own (the executor is root)."""
        return cls(
            machine=platform.machine(),
            seccomp=_seccomp_available(),
            landlock_abi=landlock_abi(),
            separate_users=os.geteuid() == 0,
            unsafe_without_landlock=unsafe_without_landlock,
        )

    @property
    def missing(self) -> list[str]:
        """The layers the sandbox needs that this machine lacks."""
        missing = []
        if self.machine not in _ARCHITECTURES:
            missing.append(f"a system call filter for the {self.machine} architecture")
        if not self.seccomp:
            missing.append("seccomp filters (Linux 3.5 and later, CONFIG_SECCOMP_FILTER)")
        if self.landlock_abi < 1:
            missing.append("Landlock (Linux 5.13 and later, enabled in the kernel's `lsm=`)")
        return missing

    @property
    def enforced(self) -> bool:
        """Whether every layer is in force."""
        return not self.missing

    @property
    def runs_udfs(self) -> bool:
        """Whether UDFs run: with every layer, or without Landlock where the operator allowed
        it (`unsafe_without_landlock`); never without the system call filter."""
        if self.enforced:
            return True
        lacking_only_landlock = self.machine in _ARCHITECTURES and self.seccomp
        return lacking_only_landlock and self.unsafe_without_landlock

    @property
    def reason(self) -> str:
        """Why UDFs do not run, or run weaker; empty when fully confined."""
        if self.enforced:
            return ""
        lacking = "; ".join(self.missing)
        if self.runs_udfs:
            return (
                f"UNSAFE: this back-end runs UDFs without {lacking}, as its operator allowed "
                "(OPENEO_EXECUTOR_UDF_UNSAFE_WITHOUT_LANDLOCK): a UDF can read every file "
                "the executor's user can"
            )
        return f"UDFs are disabled on this back-end: its kernel lacks {lacking}"

    @property
    def layers(self) -> list[str]:
        """The layers UDF processes run with, for `GET /udf_runtimes` and the docs."""
        if not self.runs_udfs:
            return []
        layers = [
            "a process of its own per execution, in its own session and process group",
            "no capabilities, no new privileges",
            "resource limits: memory, CPU time, file size"
            + (", processes and threads" if self.separate_users else ""),
            "seccomp: no sockets, no new sessions or namespaces, no user changes, signals "
            "only to its own processes",
        ]
        if self.separate_users:
            layers.insert(1, "a user of its own")
        if self.landlock_abi >= 1:
            layers.append("Landlock: reads only system and Python files, writes only its own "
                          "directory")  # fmt: skip
        if self.landlock_abi >= 4:
            layers.append("Landlock: no TCP")
        if self.landlock_abi >= 6:
            layers.append("Landlock: no abstract Unix sockets, no signals out of its domain")
        return layers


@dataclass(frozen=True, kw_only=True)
class UdfSandbox:
    """How an execution's UDF processes are confined: the limits of each, the users they
    run as where the executor is root (`uid_base` + the process's pid, one user each),
    and whether they may run without Landlock (`unsafe_without_landlock`, an operator's
    explicit choice)."""

    limits: UdfLimits = field(default_factory=UdfLimits)
    uid_base: int = DEFAULT_UID_BASE
    unsafe_without_landlock: bool = False

    def support(self) -> SandboxSupport:
        """What this machine offers (probed once per process)."""
        return _probe(self.unsafe_without_landlock)


@functools.cache
def _probe(unsafe_without_landlock: bool) -> SandboxSupport:
    return SandboxSupport.probe(unsafe_without_landlock=unsafe_without_landlock)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _failed(what: str) -> SandboxUnavailable:
    code = ctypes.get_errno()
    return SandboxUnavailable(f"{what} failed: {errno.errorcode.get(code, code)}")


def _prctl(option: int, value: int, pointer: object = 0) -> None:
    if _libc().prctl(option, value, pointer, 0, 0) != 0:
        raise _failed(f"prctl({option})")


def _seccomp_available() -> bool:
    try:
        with open("/proc/self/status") as status:
            return any(line.startswith("Seccomp:") for line in status)
    except OSError:
        return False


def make_undumpable() -> None:
    """Keep other processes of this user out of this one's /proc files and memory."""
    _prctl(_PR_SET_DUMPABLE, 0)


def _instruction(code: int, k: int, jump_true: int = 0, jump_false: int = 0) -> bytes:
    return struct.pack("HBBI", code, jump_true, jump_false, k)


def _load(offset: int) -> bytes:
    return _instruction(_BPF_LD_W_ABS, offset)


def _refuse(error: int = errno.EPERM) -> bytes:
    return _instruction(_BPF_RET_K, _RET_ERRNO | error)


_ALLOW = _instruction(_BPF_RET_K, _RET_ALLOW)


def seccomp_program(machine: str, *, pid: int) -> bytes:
    """The filter (classic BPF) for `machine`, for the process `pid`: see the module."""
    if machine not in _ARCHITECTURES:
        raise SandboxUnavailable(f"no UDF sandbox for the {machine} architecture")
    audit_arch, numbers = _ARCHITECTURES[machine]
    program = [
        _load(_ARCH),
        _instruction(_BPF_JEQ_K, audit_arch, 1, 0),
        _instruction(_BPF_RET_K, _RET_KILL_PROCESS),
        _load(_NR),
    ]
    if machine == "x86_64":
        program += [
            _instruction(_BPF_JGE_K, _X32_SYSCALL_BIT, 0, 1),
            _instruction(_BPF_RET_K, _RET_KILL_PROCESS),
        ]
    for name in _REFUSED:
        # Equal: fall through to the refusal; otherwise skip it.
        program += [_instruction(_BPF_JEQ_K, numbers[name], 0, 1), _refuse()]
    # clone3 passes its flags in memory the filter cannot read: ENOSYS makes the C library
    # fall back to clone, whose flags it can.
    program += [_instruction(_BPF_JEQ_K, numbers["clone3"], 0, 1), _refuse(errno.ENOSYS)]
    program += [
        _instruction(_BPF_JEQ_K, numbers["clone"], 0, 4),
        _load(_ARG0),
        _instruction(_BPF_JSET_K, _CLONE_NAMESPACES, 0, 1),
        _refuse(),
        _ALLOW,
    ]
    # kill(pid, sig): only this process or its own group (0); tkill/tgkill: only this
    # process's threads (tgkill's first argument, tkill's thread id is this pid's main one).
    program += [
        _load(_NR),
        _instruction(_BPF_JEQ_K, numbers["kill"], 0, 5),
        _load(_ARG0),
        _instruction(_BPF_JEQ_K, 0, 2, 0),
        _instruction(_BPF_JEQ_K, pid, 1, 0),
        _refuse(),
        _ALLOW,
        _load(_NR),
        _instruction(_BPF_JEQ_K, numbers["tgkill"], 1, 0),
        _instruction(_BPF_JEQ_K, numbers["tkill"], 0, 4),
        _load(_ARG0),
        _instruction(_BPF_JEQ_K, pid, 1, 0),
        _refuse(),
        _ALLOW,
        _ALLOW,
    ]
    return b"".join(program)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _install_seccomp(program: bytes) -> None:
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    _prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog))


def _drop_bounding_set() -> None:
    """Empty the bounding set where allowed (it takes CAP_SETPCAP; an unprivileged user's
    bounding set is moot anyway)."""
    libc = _libc()
    with open(_CAP_LAST_CAP_FILE) as file:
        last = int(file.read())
    for capability in range(last + 1):
        libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0)


def _clear_capabilities(machine: str) -> None:
    """Empty the effective, permitted and inheritable sets."""
    header = struct.pack("Ii", _CAPABILITY_VERSION_3, 0)
    data = bytes(24)  # two `__user_cap_data_struct`s of three zero words
    if _libc().syscall(_ARCHITECTURES[machine][1]["capset"], header, data) != 0:
        raise _failed("capset")


def drop_capabilities(machine: str) -> None:
    """Empty the bounding set and the effective, permitted and inheritable sets, so that
    even a root user holds no privilege."""
    if machine not in _ARCHITECTURES:
        raise SandboxUnavailable(f"no UDF sandbox for the {machine} architecture")
    _drop_bounding_set()
    _clear_capabilities(machine)


def _become_user(uid: int, machine: str) -> None:
    """Run as `uid` (and group `uid`), reading files as the user we were (see the module);
    the saved user id stays ours only so that `setfsuid` may name it, and the filter
    forbids every later change."""
    own_uid = os.geteuid()
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, own_uid)
    _clear_capabilities(machine)
    libc = _libc()
    libc.syscall(_SETFSUID[machine], own_uid)
    if libc.syscall(_SETFSUID[machine], -1) != own_uid:
        raise SandboxUnavailable("setfsuid failed")


def _set_limits(limits: UdfLimits, *, own_user: bool) -> None:
    def limit(kind: int, value: int) -> None:
        if value > 0:
            resource.setrlimit(kind, (value, value))

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    limit(resource.RLIMIT_DATA, limits.memory_bytes)
    if limits.memory_bytes:
        limit(resource.RLIMIT_AS, limits.memory_bytes + UdfLimits.ADDRESS_SPACE_HEADROOM)
    # The hard limit a second later: SIGXCPU first, which the UDF cannot catch in time.
    if limits.cpu_seconds > 0:
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    limit(resource.RLIMIT_FSIZE, limits.file_bytes)
    # The kernel counts RLIMIT_NPROC per user: meaningful only for a user of its own. Where
    # the executor shares its user (a non-root container, whose user other pods of the
    # node may run as too), the pod's process limit is the fence.
    if own_user:
        limit(resource.RLIMIT_NPROC, limits.tasks)


def confine_udf_process(
    *,
    parent: int,
    uid: int | None,
    limits: UdfLimits,
    readable: Iterable[str],
    writable: Iterable[str],
    unsafe_without_landlock: bool = False,
) -> None:
    """Confine the calling process for good (see the module): as user `uid` (None: stay
    this user), within `limits`, reading `readable` and writing `writable`, killed when the
    thread of `parent` that started it ends. SandboxUnavailable if it cannot, also when
    it runs more than one thread (the others would stay free)."""
    machine = platform.machine()
    if machine not in _ARCHITECTURES:
        raise SandboxUnavailable(f"no UDF sandbox for the {machine} architecture")
    if len(os.listdir("/proc/self/task")) != 1:
        raise SandboxUnavailable("the UDF process runs threads before its confinement")
    make_undumpable()
    _drop_bounding_set()
    if uid is not None:
        _become_user(uid, machine)
    _clear_capabilities(machine)
    # After any change of user, which clears it.
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)
    _set_limits(limits, own_user=uid is not None)
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)
    if not restrict_files(readable, writable) and not unsafe_without_landlock:
        raise SandboxUnavailable("this kernel has no Landlock")
    _install_seccomp(seccomp_program(machine, pid=os.getpid()))


# Landlock (system call numbers are the same on x86-64 and AArch64).
_LANDLOCK_CREATE_RULESET = 444
_LANDLOCK_ADD_RULE = 445
_LANDLOCK_RESTRICT_SELF = 446
_LANDLOCK_RULE_PATH_BENEATH = 1
_LANDLOCK_CREATE_RULESET_VERSION = 1
# File rights: ABI 1 has 13 (execute, write, read file, read dir, remove dir/file, make
# char, dir, reg, sock, fifo, block, sym), ABI 2 adds REFER, 3 TRUNCATE, 5 IOCTL_DEV.
_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1, 2, 4, 8
_FS_REFER, _FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_READ = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR
# Network rights (ABI 4): bind and connect TCP. Scopes (ABI 6): abstract Unix sockets,
# signals.
_NET_ALL = 1 | 2
_SCOPE_ALL = 1 | 2


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 without Landlock."""
    version = _libc().syscall(_LANDLOCK_CREATE_RULESET, None, 0, _LANDLOCK_CREATE_RULESET_VERSION)
    return max(0, int(version))


def _fs_rights(abi: int) -> int:
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= _FS_REFER
    if abi >= 3:
        rights |= _FS_TRUNCATE
    if abi >= 5:
        rights |= _FS_IOCTL_DEV
    return rights


def _ruleset_attributes(abi: int) -> bytes:
    """`struct landlock_ruleset_attr` as far as `abi` knows it."""
    if abi >= 6:
        return struct.pack("QQQ", _fs_rights(abi), _NET_ALL, _SCOPE_ALL)
    if abi >= 4:
        return struct.pack("QQ", _fs_rights(abi), _NET_ALL)
    return struct.pack("Q", _fs_rights(abi))


def restrict_files(readable: Iterable[str], writable: Iterable[str]) -> bool:
    """Limit the calling thread (for good; threads it starts inherit it) to reading below
    `readable` and reading and writing below `writable` (paths that do not exist are
    skipped), and from ABI 4 on, to no TCP and from ABI 6 on, to no abstract Unix socket
    and no signal out of itself; False where the kernel has no Landlock,
    SandboxUnavailable if it refuses."""
    abi = landlock_abi()
    if abi < 1:
        return False
    libc = _libc()
    attributes = _ruleset_attributes(abi)
    ruleset = libc.syscall(_LANDLOCK_CREATE_RULESET, attributes, len(attributes), 0)
    if ruleset < 0:
        raise _failed("landlock_create_ruleset")
    try:
        rules = [(path, _READ) for path in readable]
        rules += [(path, _fs_rights(abi)) for path in writable]
        for path, access in rules:
            _add_path_rule(libc, ruleset, path, access)
        if libc.syscall(_LANDLOCK_RESTRICT_SELF, ruleset, 0) != 0:
            raise _failed("landlock_restrict_self")
    finally:
        os.close(ruleset)
    return True


def _add_path_rule(libc: ctypes.CDLL, ruleset: int, path: str, access: int) -> None:
    try:
        descriptor = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return
    try:
        if not os.path.isdir(path):
            access &= _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV
        rule = struct.pack("=Qi", access, descriptor)
        if libc.syscall(_LANDLOCK_ADD_RULE, ruleset, _LANDLOCK_RULE_PATH_BENEATH, rule, 0):
            raise _failed(f"landlock_add_rule for {path}")
    finally:
        os.close(descriptor)


def udf_sandbox(settings: "ExecutorSettings", *, synchronous: bool) -> UdfSandbox:
    """The confinement and limits of UDF processes (see `udf_*`): a synchronous
    request's UDF gets no more CPU time than the request may take."""
    cpu_seconds = settings.udf_cpu_seconds
    if synchronous:
        cpu_seconds = min(cpu_seconds or 2**31, math.ceil(settings.sync_timeout_seconds))
    return UdfSandbox(
        limits=UdfLimits(
            memory_bytes=settings.udf_memory_mb * 2**20,
            cpu_seconds=cpu_seconds,
            file_bytes=settings.udf_max_file_mb * 2**20,
            tasks=settings.udf_max_tasks,
        ),
        uid_base=settings.udf_uid_base or DEFAULT_UID_BASE,
        unsafe_without_landlock=settings.udf_unsafe_without_landlock,
    )
