"""A minimal PEP 517 build backend for the libcdc package, standard
library only, so wheels build without setuptools or network access.

It packs libcdc/*.py and libcdc/py.typed into a wheel (the C library is
not bundled: it is loaded at run time from LIBCDC_PATH or the system's
loader path, docs/bindings.md) and the same files plus pyproject.toml and
the extension's source into an sdist. The version is the meson project
version of the source tree when this directory sits in one, else 0.0.0.

The wheel also holds libcdc._fast, a small C extension that reads binary
batches (libcdc/_fast.c; it links only Python), compiled here with the
compiler and flags Python was built with (sysconfig) and Python's headers
(Debian: python3-dev). Then the wheel is tagged for this interpreter and
platform. Without a compiler or headers, or with LIBCDC_NO_EXT=1 in the
environment, the wheel is pure Python (py3-none-any) and the package
reads batches in Python (libcdc/_binary.py), correct but slower.

    python3 _build_backend.py build_ext DIR   # compiles _fast into DIR
"""
import base64
import hashlib
import io
import os
import re
import shlex
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
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


def _files(sources=False):
    pkg = os.path.join(HERE, NAME)
    for name in sorted(os.listdir(pkg)):
        if name.endswith(".py") or name == "py.typed" or (sources and name.endswith(".c")):
            yield os.path.join(pkg, name), NAME + "/" + name


def build_ext(out_dir):
    """Compiles libcdc/_fast.c into out_dir; returns the file's path, or
    None (with the reason on stderr) when it cannot be built."""
    src = os.path.join(HERE, NAME, "_fast.c")
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    out = os.path.join(out_dir, "_fast" + suffix)
    cc = shlex.split(sysconfig.get_config_var("CC") or "cc")
    ldshared = shlex.split(sysconfig.get_config_var("LDSHARED") or "cc -shared")
    include = sysconfig.get_paths()["include"]
    if not os.path.exists(os.path.join(include, "Python.h")):
        sys.stderr.write("libcdc: no Python.h in %s (Debian: apt-get install python3-dev); "
                         "building without the C extension\n" % include)
        return None
    cflags = ["-O2", "-fPIC", "-Wall", "-I" + include]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            obj = os.path.join(tmp, "_fast.o")
            subprocess.run(cc + cflags + ["-c", src, "-o", obj], check=True)
            os.makedirs(out_dir, exist_ok=True)
            subprocess.run(ldshared + [obj, "-o", out], check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        sys.stderr.write("libcdc: cannot compile the C extension (%s); building without it\n" % e)
        return None
    return out


def _platform_tag():
    impl = sys.implementation.name
    ver = "%d%d" % sys.version_info[:2]
    py = ("cp" if impl == "cpython" else impl[:2]) + ver
    abi = py + (getattr(sys, "abiflags", "") or "")
    plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return "%s-%s-%s" % (py, abi, plat)


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
    tag = "py3-none-any"
    entries = []
    ext = None
    with tempfile.TemporaryDirectory() as tmp:
        if os.environ.get("LIBCDC_NO_EXT") != "1":
            ext = build_ext(os.path.join(HERE, NAME) if editable else tmp)
        if ext:
            tag = _platform_tag()
            if not editable:
                with open(ext, "rb") as f:
                    entries.append((NAME + "/" + os.path.basename(ext), f.read()))
    wheel_name = "%s-%s-%s.whl" % (NAME, version, tag)
    if editable:  # PEP 660: a .pth pointing at this directory
        entries.append((NAME + ".pth", (HERE + "\n").encode()))
    else:
        for path, arc in _files():
            with open(path, "rb") as f:
                entries.append((arc, f.read()))
    entries.append((dist + "/METADATA", _metadata(version).encode()))
    entries.append((dist + "/WHEEL", b"Wheel-Version: 1.0\nGenerator: libcdc _build_backend\n" +
                                     ("Root-Is-Purelib: %s\nTag: %s\n" % ("false" if ext else "true", tag)).encode()))
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
        for path, arc in _files(sources=True):
            with open(path, "rb") as f:
                add(arc, f.read())
        add("PKG-INFO", _metadata(version).encode())
    return name


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "build_ext":
        sys.exit(0 if build_ext(os.path.abspath(sys.argv[2])) else 1)
    sys.stderr.write("usage: %s build_ext DIR\n" % sys.argv[0])
    sys.exit(2)
