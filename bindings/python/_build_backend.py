"""A minimal PEP 517 build backend for the libcdc package, standard
library only, so wheels build without setuptools or network access.

It packs libcdc/*.py and libcdc/py.typed into a py3-none-any wheel (the C
library is not bundled: it is loaded at run time from LIBCDC_PATH or the
system's loader path, docs/bindings.md) and the same files plus
pyproject.toml into an sdist. The version is the meson project version
of the source tree when this directory sits in one, else 0.0.0.
"""
import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "libcdc"


def _version():
    meson = os.path.join(HERE, "..", "..", "meson.build")
    try:
        with open(meson, encoding="utf-8") as f:
            m = re.search(r"version\s*:\s*'([^']+)'", f.read())
        if m:
            return m.group(1)
    except OSError:
        pass
    pkg = os.path.join(HERE, "PKG-INFO")  # an unpacked sdist
    try:
        with open(pkg, encoding="utf-8") as f:
            m = re.search(r"^Version: (.+)$", f.read(), re.M)
        if m:
            return m.group(1).strip()
    except OSError:
        pass
    return "0.0.0"


def _files():
    pkg = os.path.join(HERE, NAME)
    for name in sorted(os.listdir(pkg)):
        if name.endswith(".py") or name == "py.typed":
            yield os.path.join(pkg, name), NAME + "/" + name


def _metadata(version):
    return ("Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: Change data capture from MySQL and "
            "MariaDB binlogs (bindings of the libcdc C library)\nRequires-Python: >=3.8\n" % (NAME, version))


def _record_line(arc, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (arc, digest, len(data))


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def _wheel(wheel_directory, editable):
    version = _version()
    dist = "%s-%s.dist-info" % (NAME, version)
    wheel_name = "%s-%s-py3-none-any.whl" % (NAME, version)
    entries = []
    if editable:  # PEP 660: a .pth pointing at this directory
        entries.append((NAME + ".pth", (HERE + "\n").encode()))
    else:
        for path, arc in _files():
            with open(path, "rb") as f:
                entries.append((arc, f.read()))
    entries.append((dist + "/METADATA", _metadata(version).encode()))
    entries.append((dist + "/WHEEL", b"Wheel-Version: 1.0\nGenerator: libcdc _build_backend\n"
                                     b"Root-Is-Purelib: true\nTag: py3-none-any\n"))
    record = [_record_line(a, d) for a, d in entries] + [dist + "/RECORD,,"]
    entries.append((dist + "/RECORD", ("\n".join(record) + "\n").encode()))
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel_name), "w", zipfile.ZIP_DEFLATED) as z:
        for arc, data in entries:
            z.writestr(zipfile.ZipInfo(arc, date_time=(2020, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return wheel_name


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, False)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, True)


def build_sdist(sdist_directory, config_settings=None):
    version = _version()
    base = "%s-%s" % (NAME, version)
    name = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as t:
        def add(arc, data):
            info = tarfile.TarInfo(base + "/" + arc)
            info.size = len(data)
            info.mtime = 1577836800
            t.addfile(info, io.BytesIO(data))
        for fn in ("pyproject.toml", "_build_backend.py"):
            with open(os.path.join(HERE, fn), "rb") as f:
                add(fn, f.read())
        for path, arc in _files():
            with open(path, "rb") as f:
                add(arc, f.read())
        add("PKG-INFO", _metadata(version).encode())
    return name
