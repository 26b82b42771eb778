"""Open files and per-process descriptor tables (fs/file.c, fs/file_table.c).

A socket reaches a process as a ``File`` whose ``private_data`` is the ``Socket``; descriptors are
allocated lowest-first, as ``get_unused_fd_flags`` does, with 0, 1 and 2 taken by the console.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tuxnet.kernel.errno import EBADF, EINVAL, EMFILE

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host
    from tuxnet.kernel.sched import Process

O_RDONLY = 0o0
O_WRONLY = 0o1
O_RDWR = 0o2
O_ACCMODE = 0o3
O_NONBLOCK = 0o4000
O_CLOEXEC = 0o2000000

NR_OPEN_DEFAULT = 1024


class File:
    """``struct file``: an open object with flags and a reference count."""

    __slots__ = ("f_op", "private_data", "f_flags", "f_count")

    def __init__(self, f_op: Any, private_data: Any, f_flags: int = O_RDWR) -> None:
        self.f_op = f_op
        self.private_data = private_data
        self.f_flags = f_flags
        self.f_count = 1

    def fput(self, proc: Process) -> None:
        """Drop a reference; the last one releases the object (``__fput``)."""
        self.f_count -= 1
        if self.f_count == 0 and self.f_op is not None:
            self.f_op.release(self, proc)


class _PipeReadOps:
    """The read end of a pipe whose writer wrote its bytes and closed (``echo hi | prog``): reads
    take them in turn, then end of file (``pipe_read``)."""

    @staticmethod
    def read(f: File, size: int) -> bytes:
        buf = f.private_data
        chunk = bytes(buf[:size])
        del buf[:size]
        return chunk

    @staticmethod
    def release(f: File, proc: Process) -> None:
        f.private_data = None


pipe_read_ops = _PipeReadOps()


def stdin_pipe(data: bytes) -> File:
    """A standard input that holds ``data``, then ends."""
    return File(pipe_read_ops, bytearray(data), O_RDONLY)


class FdTable:
    """``struct files_struct``: descriptor numbers to open files, and which of them close on
    exec (``close_on_exec``: FD_CLOEXEC belongs to the descriptor, not to the file)."""

    __slots__ = ("fds", "limit", "close_on_exec")

    def __init__(self) -> None:
        self.fds: dict[int, File] = {0: File(None, None), 1: File(None, None), 2: File(None, None)}
        self.limit = NR_OPEN_DEFAULT
        self.close_on_exec: set[int] = set()

    def install(self, f: File, flags: int = 0, start: int = 0) -> int:
        """``get_unused_fd_flags`` + ``fd_install``: the lowest free number from ``start``, or
        -EMFILE; O_CLOEXEC in ``flags`` marks it close-on-exec."""
        fd = start
        while fd in self.fds:
            fd += 1
        if fd >= self.limit:
            return -EMFILE
        self.fds[fd] = f
        if flags & O_CLOEXEC:
            self.close_on_exec.add(fd)
        return fd

    def dup(self, fd: int, flags: int = 0, start: int = 0) -> int:
        """``f_dupfd``: one more descriptor for ``fd``'s file, the lowest free from ``start``,
        close-on-exec only when ``flags`` says O_CLOEXEC; -EBADF, -EINVAL or -EMFILE."""
        f = self.get(fd)
        if f is None:
            return -EBADF
        if not isinstance(start, int) or not 0 <= start < self.limit:
            return -EINVAL
        new = self.install(f, flags, start)
        if new >= 0:
            f.f_count += 1
        return new

    def get(self, fd: int) -> File | None:
        """``fdget``: the file behind ``fd`` or None."""
        return self.fds.get(fd) if isinstance(fd, int) else None

    def close(self, fd: int, proc: Process) -> int:
        """``close_fd``: 0, or -EBADF for a descriptor that is not open."""
        f = self.fds.pop(fd, None) if isinstance(fd, int) else None
        if f is None:
            return -EBADF
        self.close_on_exec.discard(fd)
        f.fput(proc)
        return 0

    def inherit(self, parent: FdTable, fds: list[int]) -> None:
        """Share the parent's open files ``fds`` (``dup_fd`` at fork: one more reference each)."""
        for fd in fds:
            f = parent.fds.get(fd)
            if f is not None:
                f.f_count += 1
                old = self.fds.get(fd)
                self.fds[fd] = f
                if old is not None and old.f_op is not None:
                    old.f_count -= 1

    def close_all(self, proc: Process) -> None:
        """At exit every descriptor is closed, as ``exit_files`` does."""
        for fd in sorted(self.fds):
            self.close(fd, proc)


def proc_socket_fds(host: Host) -> Iterator[tuple[int, str, int, int]]:
    """What a walk of /proc/PID/fd finds of sockets (fs/proc/fd.c ``proc_readfd``, which lists
    pids and then descriptors in increasing order): (pid, comm, fd, inode) for each descriptor
    whose link reads ``socket:[INODE]``, as netstat -p and ss -p collect them."""
    for pid in sorted(host.processes):
        proc = host.processes[pid]
        fds = proc.files.fds
        for fd in sorted(fds):
            ino = getattr(fds[fd].private_data, "ino", 0)
            if ino:
                yield pid, proc.comm, fd, ino
