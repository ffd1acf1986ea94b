#!/usr/bin/env python3
"""Writes the archive fuzz entry's seed corpus (corpus/archive/), once.

Small archives in each format a release comes in (tar, tar.gz, tar.xz,
zip), holding what extraction must handle (files, directories, symlinks,
hard links, the member "app", the subtree "pkg") and what it must refuse
(climbing out, absolute names, devices, setuid, names twice). Run again
only to change the seeds; the output is committed.
"""
import io
import os
import sys
import tarfile
import zipfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "archive")


def member(name, kind=tarfile.REGTYPE, data=b"", mode=0o644, link=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    info.mtime = 1700000000  # fixed, so the seeds are reproducible
    info.uname = info.gname = "root"
    return info, data


def tar_bytes(members, compression=""):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:" + compression,
                      format=tarfile.USTAR_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data else None)
    raw = buf.getvalue()
    if not compression:
        # Python pads to 10 KiB; two zero blocks end a tar, the rest is
        # size the fuzzer would only have to mutate past.
        end = len(raw.rstrip(b"\0"))
        end = (end + 511) // 512 * 512
        raw = raw[:end] + b"\0" * 1024
    return raw


def zip_bytes(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


RELEASE = [
    member("app", data=b"#!/bin/sh\necho app 2.0\n", mode=0o755),
    member("pkg", tarfile.DIRTYPE, mode=0o755),
    member("pkg/bin", tarfile.DIRTYPE, mode=0o755),
    member("pkg/bin/server", data=b"\x7fELF server\n", mode=0o755),
    member("pkg/share/doc/README", data=b"read me\n"),
    member("pkg/current", tarfile.SYMTYPE, link="bin/server", mode=0o777),
    member("pkg/bin/server.hard", tarfile.LNKTYPE, link="pkg/bin/server"),
]

SEEDS = {
    "release.tar": tar_bytes(RELEASE),
    "release.tar.gz": tar_bytes(RELEASE, "gz"),
    "release.tar.xz": tar_bytes(RELEASE, "xz"),
    "release.zip": zip_bytes([
        ("app", b"#!/bin/sh\necho app 2.0\n", 0o100755),
        ("pkg/", b"", 0o40755),
        ("pkg/bin/server", b"\x7fELF server\n", 0o100755),
        ("pkg/share/doc/README", b"read me\n", 0o100644),
    ]),
    "dot_slash_names.tar": tar_bytes([
        member("./", tarfile.DIRTYPE, mode=0o755),
        member("./app", data=b"app\n", mode=0o755),
        member("./pkg/", tarfile.DIRTYPE, mode=0o555),
        member("./pkg/lib/x.so", data=b"so\n"),
    ]),
    "symlinks_inside.tar": tar_bytes([
        member("pkg/a/b", tarfile.DIRTYPE, mode=0o755),
        member("pkg/a/b/up", tarfile.SYMTYPE, link="../../top", mode=0o777),
        member("pkg/top", data=b"top\n"),
        member("pkg/loop1", tarfile.SYMTYPE, link="loop2", mode=0o777),
        member("pkg/loop2", tarfile.SYMTYPE, link="loop1", mode=0o777),
    ]),
    "symlink_escape.tar": tar_bytes([
        member("pkg/out", tarfile.SYMTYPE, link="../../etc", mode=0o777),
    ]),
    "write_through_symlink.tar": tar_bytes([
        member("pkg/d", tarfile.SYMTYPE, link=".", mode=0o777),
        member("pkg/d/app", data=b"through\n"),
    ]),
    "dotdot_name.tar": tar_bytes([member("pkg/../../escaped", data=b"x\n")]),
    "absolute_name.tar": tar_bytes([member("/tmp/escaped", data=b"x\n")]),
    "hardlink_outside.tar": tar_bytes([
        member("app", tarfile.LNKTYPE, link="/etc/passwd"),
    ]),
    "device.tar": tar_bytes([member("pkg/null", tarfile.CHRTYPE, mode=0o666)]),
    "fifo.tar": tar_bytes([member("pkg/fifo", tarfile.FIFOTYPE)]),
    "setuid.tar": tar_bytes([member("app", data=b"x\n", mode=0o4755)]),
    "world_writable.tar": tar_bytes([
        member("pkg", tarfile.DIRTYPE, mode=0o777),
        member("pkg/app", data=b"x\n", mode=0o666),
    ]),
    "twice.tar": tar_bytes([
        member("app", data=b"one\n"),
        member("app", data=b"two\n"),
    ]),
    "pkg_is_a_file.tar": tar_bytes([member("pkg", data=b"not a dir\n")]),
    "app_is_a_directory.zip": zip_bytes([("app/", b"", 0o40755)]),
    # zip keeps a symlink's target as its data, its type in the mode.
    "symlinks.zip": zip_bytes([
        ("pkg/app", b"app\n", 0o100755),
        ("pkg/link", b"app", 0o120777),
        ("pkg/out", b"../../outside", 0o120777),
    ]),
    # 256 KiB of zeros: more than the entry's 64 KiB limit once unpacked.
    "too_large.tar.gz": tar_bytes([member("app", data=b"\0" * 256 * 1024)], "gz"),
    "truncated.tar": tar_bytes(RELEASE)[:700],
    "empty.tar": b"\0" * 1024,
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in sorted(SEEDS.items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
