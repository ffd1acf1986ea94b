#!/usr/bin/env python3
"""Hostile release archives for the corpus, made at test time (stdlib only).

  hostile_archive.py RECIPE OUT SERVICE VERSION

Every archive holds a release as the scenarios expect one (bin/service,
the executable SERVICE, and VERSION) plus, or instead, the hostile part
named by RECIPE (see RECIPES below). Names are written as raw bytes (GNU
format), so an entry name can hold bytes that are not UTF-8.
"""
import io
import os
import struct
import sys
import tarfile
import time
import zlib

GIB = 1 << 30


def raw(b):
    """A str that tarfile writes back as exactly the bytes `b`."""
    return b.decode("utf-8", "surrogateescape")


def info(name, kind=tarfile.REGTYPE, mode=0o644, size=0, link=""):
    t = tarfile.TarInfo(raw(name) if isinstance(name, bytes) else name)
    t.type, t.mode, t.size, t.linkname = kind, mode, size, link
    t.mtime = int(time.time())
    t.uname = t.gname = "root"
    return t


class Tar:
    def __init__(self, out):
        # Level 1: the content does not matter, the time does (9 is the default).
        self.t = tarfile.open(out, "w:gz", compresslevel=1,
                              format=tarfile.GNU_FORMAT,
                              encoding="utf-8", errors="surrogateescape")

    def file(self, name, data, mode=0o644):
        self.t.addfile(info(name, mode=mode, size=len(data)), io.BytesIO(data))

    def dir(self, name, mode=0o755):
        self.t.addfile(info(name, tarfile.DIRTYPE, mode))

    def entry(self, name, kind, link="", mode=0o644, major=0, minor=0):
        i = info(name, kind, mode, link=link)
        i.devmajor, i.devminor = major, minor
        self.t.addfile(i)

    def release(self, service, version, service_mode=0o755, bin_mode=0o755):
        self.dir("bin", bin_mode)
        self.file("bin/service", service, service_mode)
        self.file("VERSION", (version + "\n").encode())

    def close(self):
        self.t.close()


def sparse_tar(out, service, version, member_only):
    """A few KiB of tar.gz whose bin/service is a 2 GiB sparse file (GNU
    tar's own sparse format, read back by libarchive as 2 GiB of zeros)."""
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory(dir=os.path.dirname(out)) as d:
        os.mkdir(os.path.join(d, "bin"))
        with open(os.path.join(d, "bin", "service"), "wb") as f:
            f.write(service[:4096])
            f.truncate(2 * GIB)
        names = ["bin"]
        if not member_only:
            with open(os.path.join(d, "VERSION"), "w") as f:
                f.write(version + "\n")
            names.append("VERSION")
        subprocess.run(["tar", "-C", d, "--sparse", "-czf", out] + names,
                       check=True)


def zip_bomb(out, size=GIB + (64 << 20), name=b"bin/service"):
    """A zip of about one MiB holding `size` bytes of zeros, deflated. The
    deflate stream is one compressed MiB of zeros, ended by a full flush
    (byte-aligned, no reference to what came before) and repeated."""
    mib = 1 << 20
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(bytes(mib)) + c.flush(zlib.Z_FULL_FLUSH)
    count = size // mib
    tail = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
    # crc32 of `count` MiB of zeros, one MiB at a time.
    crc, zeros = 0, bytes(mib)
    for _ in range(count):
        crc = zlib.crc32(zeros, crc)
    csize = len(block) * count + len(tail)
    usize = count * mib
    dos_time, dos_date = 0, (2026 - 1980) << 9 | 1 << 5 | 1
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, dos_time,
                        dos_date, crc, csize, usize, len(name), 0) + name
    with open(out, "wb") as f:
        f.write(local)
        for _ in range(count):
            f.write(block)
        f.write(tail)
        cd_offset = f.tell()
        central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x031E, 20, 0,
                              8, dos_time, dos_date, crc, csize, usize,
                              len(name), 0, 0, 0, 0, 0o100755 << 16, 0) + name
        f.write(central)
        f.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central),
                            cd_offset, 0))


WEIRD = b"\xff\xfe\x1b]0;owned\x07\x1b[2J"


def main():
    recipe, out, service_path, version = sys.argv[1:5]
    service = open(service_path, "rb").read()
    if recipe == "sparse-member":
        return sparse_tar(out, service, version, True)
    if recipe == "sparse-tree":
        return sparse_tar(out, service, version, False)
    if recipe == "zip-bomb":
        return zip_bomb(out)
    t = Tar(out)
    R = tarfile
    if recipe == "good":
        t.release(service, version)
    # -- Mode=binary, Member=bin/service ---------------------------------
    elif recipe == "member-twice":
        t.release(service, version)
        t.file("bin/service", b"#!/bin/sh\necho second copy\n", 0o755)
    elif recipe == "member-symlink":
        t.dir("bin")
        t.entry("bin/service", R.SYMTYPE, "/etc/shadow")
    elif recipe == "member-hardlink":
        t.dir("bin")
        t.file("bin/real", service, 0o755)
        t.entry("bin/service", R.LNKTYPE, "bin/real")
    elif recipe == "member-missing-weird-names":
        t.dir("bin")
        t.file(b"bin/" + WEIRD, service, 0o755)
    elif recipe == "member-setuid-writable":
        t.release(service, version, service_mode=0o4777)
    # -- Mode=symlink: the whole tree ----------------------------------
    elif recipe == "traversal":
        t.release(service, version)
        t.file("../../../etc/hostile-traversal", b"owned\n")
    elif recipe == "absolute":
        t.release(service, version)
        t.file("/etc/hostile-absolute", b"owned\n")
    elif recipe == "symlink-absolute":
        t.release(service, version)
        t.entry("etc", R.SYMTYPE, "/etc")
    elif recipe == "symlink-escape":
        t.release(service, version)
        t.entry("bin/up", R.SYMTYPE, "../../../etc")
    elif recipe == "symlink-dotdot-after-name":
        t.release(service, version)
        t.entry("bin/up", R.SYMTYPE, "../bin/../../..")
    elif recipe == "write-through-symlink":
        t.release(service, version)
        t.entry("lib", R.SYMTYPE, "bin")
        t.file("lib/planted", b"owned\n", 0o755)
    elif recipe == "hardlink-absolute":
        t.release(service, version)
        t.entry("bin/passwd", R.LNKTYPE, "/etc/passwd")
    elif recipe == "hardlink-escape":
        t.release(service, version)
        t.entry("bin/passwd", R.LNKTYPE, "../../../etc/passwd")
    elif recipe == "hardlink-unknown":
        t.release(service, version)
        t.entry("bin/passwd", R.LNKTYPE, "etc/passwd")
    elif recipe == "char-device":
        t.release(service, version)
        t.entry("dev-null", R.CHRTYPE, mode=0o666, major=1, minor=3)
    elif recipe == "block-device":
        t.release(service, version)
        t.entry("disk", R.BLKTYPE, mode=0o660, major=8, minor=0)
    elif recipe == "fifo":
        t.release(service, version)
        t.entry("pipe", R.FIFOTYPE, mode=0o644)
    elif recipe == "setuid":
        t.release(service, version, service_mode=0o4755)
    elif recipe == "setgid-dir":
        t.release(service, version)
        t.dir("share", 0o2755)
    elif recipe == "file-twice":
        t.release(service, version)
        t.file("VERSION", b"not " + version.encode() + b"\n")
    elif recipe == "device-weird-name":
        t.release(service, version)
        t.entry(WEIRD, R.CHRTYPE, mode=0o666, major=1, minor=5)
    elif recipe == "world-writable":
        t.dir("bin", 0o777)
        t.file("bin/service", service, 0o777)
        t.file("VERSION", (version + "\n").encode(), 0o666)
        t.dir("data", 0o775)
    else:
        sys.exit("unknown recipe " + recipe)
    t.close()


if __name__ == "__main__":
    main()
