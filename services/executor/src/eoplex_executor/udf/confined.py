"""The entry point of a UDF process: `python -m eoplex_executor.udf.confined`.

It confines itself (`sandbox.confine_udf_process`) while it still runs one thread and
before it imports numpy (whose thread pool would stay unconfined), then imports the UDF
runtime and serves chunks (`process.serve`). Its arguments are its two pipes and its
configuration as JSON (see `UdfProcess`). A process that cannot be confined says why on
its standard error and exits with `EXIT_UNCONFINED`; the executor reports that reason.
"""

import json
import os
import sys

from eoplex_executor.udf.sandbox import SandboxUnavailable, UdfLimits, confine_udf_process

EXIT_UNCONFINED = 70


def readable_paths(pid: int) -> list[str]:
    """What a UDF process may read: the system's programs and libraries, Python's and its
    packages' directories (to import them), a few devices and the files of `/proc` and
    `/sys` that numpy and BLAS consult, and its own `/proc/<pid>`; not `/etc` as a whole
    (`/etc/shadow`), not other processes."""
    system = ["/usr", "/lib", "/lib64", "/bin", "/sbin"]
    etc = [f"/etc/{name}" for name in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime")]
    etc += ["/etc/mime.types", "/etc/nsswitch.conf"]
    devices = ["/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"]
    kernel = [f"/proc/{pid}", "/proc/cpuinfo", "/proc/meminfo", "/sys/devices/system/cpu"]
    kernel += ["/sys/kernel/mm/transparent_hugepage"]
    python = [sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path[1:]]
    return system + etc + devices + kernel + [p for p in python if p and os.path.isabs(p)]


def main() -> None:
    """`python -m eoplex_executor.udf.confined <request fd> <answer fd> <configuration>`."""
    requests = os.fdopen(int(sys.argv[1]), "rb")
    answers = os.fdopen(int(sys.argv[2]), "wb")
    config = json.loads(sys.argv[3])
    limits = UdfLimits(**config["limits"])
    uid_base = config["uid_base"]
    try:
        confine_udf_process(
            parent=config["parent"],
            uid=None if uid_base is None else uid_base + os.getpid(),
            limits=limits,
            readable=readable_paths(os.getpid()),
            writable=[os.getcwd(), "/dev/null"],
            unsafe_without_landlock=config["unsafe_without_landlock"],
        )
    except (SandboxUnavailable, OSError) as error:
        print(f"the UDF process cannot be confined: {error}", file=sys.stderr)
        sys.exit(EXIT_UNCONFINED)
    # Only now: what every UDF uses, and the threads numpy's BLAS starts.
    from eoplex_executor.udf.process import serve

    serve(requests, answers, limits=limits)


if __name__ == "__main__":
    main()
