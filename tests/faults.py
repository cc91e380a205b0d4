"""Storage faults made by the kernel, not by mocks: a full tmpfs and a read-only bind mount (root only).

`Disk` mounts a small tmpfs of the test's own; `fill()` takes every free byte with a filler file
and `free()` removes it. `ReadOnlySwitch` holds the database in such a tmpfs, reached through a
symlink: `read_only()` points the symlink at a read-only bind mount of the same folder, so that
a connection opened then gets EROFS from the kernel ("attempt to write a readonly database"),
exactly like a file made read-only by an operator; `writable()` points it back. Both unmount
everything on exit. No network is involved: no lab lock is needed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["Disk", "ReadOnlySwitch", "mounts_unavailable", "read_only_switch", "small_disk"]


def mounts_unavailable() -> str | None:
    """Return why this process cannot mount a tmpfs (not root, no mount), or None."""
    if os.geteuid() != 0:
        return "storage fault tests mount a tmpfs: they need root"
    if not Path("/bin/mount").exists() and not Path("/usr/bin/mount").exists():
        return "no mount(8)"
    return None


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


def _umount(path: Path) -> None:
    result = subprocess.run(["umount", str(path)], capture_output=True, timeout=30, check=False)
    if result.returncode != 0:  # a file still open by a dying thread: detach now, freed when closed
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30, check=False)


@dataclass
class Disk:
    """A tmpfs of a fixed size at `path`."""

    path: Path

    @property
    def _filler(self) -> Path:
        return self.path / "filler.bin"

    def fill(self) -> int:
        """Write a filler file until the disk is full (ENOSPC); return the bytes written."""
        written = 0
        chunk = b"\0" * 65536
        with self._filler.open("ab", buffering=0) as out:
            for _ in range(1_000_000):  # bounded: the disk is a few MB
                try:
                    out.write(chunk)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
                written += len(chunk)
            for size in (4096, 512, 1):  # the last pages too
                for _ in range(64):
                    try:
                        out.write(b"\0" * size)
                    except OSError:
                        break
        return written

    def free(self) -> None:
        """Remove the filler file."""
        self._filler.unlink(missing_ok=True)


@contextlib.contextmanager
def small_disk(folder: Path, size: str = "4m") -> Iterator[Disk]:
    """Mount a tmpfs of *size* on *folder* (created) for the block; skip without root."""
    reason = mounts_unavailable()
    if reason is not None:
        pytest.skip(reason)
    folder.mkdir(parents=True, exist_ok=True)
    _run("mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(folder))
    try:
        yield Disk(folder)
    finally:
        _umount(folder)


@dataclass
class ReadOnlySwitch:
    """A database folder reached through `link`: writable, or a read-only view of the same files."""

    rw: Path
    ro: Path
    link: Path

    @property
    def db(self) -> Path:
        """Return the database path to give to SQLite (through the symlink)."""
        return self.link / "netmon.db"

    def read_only(self) -> None:
        """Point the folder at the read-only view: connections opened from now on cannot write."""
        self._point(self.ro)

    def writable(self) -> None:
        """Point the folder back at the writable mount."""
        self._point(self.rw)

    def _point(self, target: Path) -> None:
        fresh = self.link.with_name(self.link.name + ".new")
        fresh.unlink(missing_ok=True)
        fresh.symlink_to(target)
        fresh.replace(self.link)  # atomic: no moment without a database


@contextlib.contextmanager
def read_only_switch(folder: Path) -> Iterator[ReadOnlySwitch]:
    """Mount a tmpfs and a read-only bind mount of it under *folder*; skip without root."""
    reason = mounts_unavailable()
    if reason is not None:
        pytest.skip(reason)
    rw, ro = folder / "rw", folder / "ro"
    rw.mkdir(parents=True)
    ro.mkdir()
    _run("mount", "-t", "tmpfs", "-o", "size=64m,mode=0755", "tmpfs", str(rw))
    try:
        _run("mount", "--bind", str(rw), str(ro))
        try:
            _run("mount", "-o", "remount,bind,ro", str(ro))
            switch = ReadOnlySwitch(rw=rw, ro=ro, link=folder / "db")
            switch.writable()
            yield switch
        finally:
            _umount(ro)
    finally:
        _umount(rw)
