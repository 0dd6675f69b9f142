"""List every class a classes.dex references that is neither defined in it nor in android.jar.

    python dex_missing_classes.py classes.dex android.jar README.md

Reads the dex's type_ids (every type its code, fields, methods and signatures name) and class_defs (the types it
defines) from the header tables (https://source.android.com/docs/core/runtime/dex-format), and the class files of
android.jar. Each missing class must be named in README.md (which says where a Gradle build gets it); the script
prints the list and exits 1 if one is not, 0 otherwise. Standard library only.
"""

from __future__ import annotations

import struct
import sys
import zipfile
from pathlib import Path


def _uleb128(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def dex_types(path: Path) -> tuple[set[str], set[str]]:
    """(referenced class descriptors, defined class descriptors) of a dex file, as 'Lpkg/Name;'."""
    data = path.read_bytes()
    if not data.startswith(b"dex\n"):
        raise ValueError(f"{path}: not a dex file")
    string_n, string_off, type_n, type_off = struct.unpack_from("<4I", data, 56)
    class_n, class_off = struct.unpack_from("<2I", data, 96)

    def string(i: int) -> str:
        (at,) = struct.unpack_from("<I", data, string_off + 4 * i)
        _, at = _uleb128(data, at)  # length in UTF-16 units; the bytes end at a 0
        return data[at:data.index(b"\0", at)].decode("utf-8", "replace")

    types = [string(struct.unpack_from("<I", data, type_off + 4 * i)[0]) for i in range(type_n)]
    assert type_n <= string_n
    defined = {types[struct.unpack_from("<I", data, class_off + 32 * i)[0]] for i in range(class_n)}
    referenced = {t.lstrip("[") for t in types}
    return {t for t in referenced if t.startswith("L")}, defined


# The dex format's system annotations (InnerClass, EnclosingMethod, Signature, Throws, ...): javac's inner-class and
# generics attributes become these, and every Android runtime defines them; android.jar (an API stub) does not list
# them. https://source.android.com/docs/core/runtime/dex-format#system-annotation
SYSTEM_ANNOTATIONS = "Ldalvik/annotation/"


def jar_classes(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as z:
        return {f"L{n[:-len('.class')]};" for n in z.namelist() if n.endswith(".class")}


def dotted(descriptor: str) -> str:
    return descriptor[1:-1].replace("/", ".")


def main(argv: list[str]) -> int:
    dex, android_jar, readme = (Path(a) for a in argv)
    referenced, defined = dex_types(dex)
    missing = sorted(dotted(t) for t in referenced - defined - jar_classes(android_jar)
                     if not t.startswith(SYSTEM_ANNOTATIONS))
    documented = readme.read_text()
    undocumented = [c for c in missing if c not in documented]
    print(f"[apk] classes.dex defines {len(defined)} classes and references {len(referenced)}; "
          f"{len(missing)} are in neither the dex nor {android_jar.name}:")
    for c in missing:
        print(f"[apk]   {c}{'' if c in documented else '   <- NOT named in ' + readme.name}")
    if undocumented:
        print(f"[apk] FAIL: {len(undocumented)} missing classes are not named in {readme} with where Gradle gets them")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
