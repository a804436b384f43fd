#!/usr/bin/env python3
"""The embedded test: sizes of the usock echo firmware against the plain C one, and what the usock image may not
contain.

Prints both images' text/data/bss (arm-none-eabi-size) and their ratio, and where the usock image's bytes come
from (its linker map, by input file). Fails when
- usock's code (the object file holding the echo server and every usock header it includes) defines or refers
  to exception or RTTI machinery (__cxa_*, _Unwind_*, __gxx_personality_*, typeinfo) or to a heap allocator
  (malloc & co., operator new);
- the linked usock image contains exception machinery (__cxa_throw, __gxx_personality_v0, _Unwind_*) at all.
What the C++ runtime adds on its own (typeinfo of its error categories, its own operator new and malloc) is
reported with the chain of archive members that pulled it in, so the cost stays visible.
"""
import argparse
import re
import subprocess
import sys

ALLOCATORS = {"malloc", "calloc", "realloc", "_malloc_r", "_calloc_r", "_realloc_r", "memalign", "_memalign_r"}
EXCEPTION_SYMBOLS = re.compile(r"^(__cxa_(throw|allocate_exception|begin_catch|end_catch|rethrow|call_unexpected|"
                               r"bad_cast|bad_typeid)|__gxx_personality_\w+|__aeabi_unwind_cpp_pr\d|_Unwind_\w+|__dynamic_cast)$")
IMAGE_EXCEPTION_SYMBOLS = re.compile(r"^(__cxa_throw|__cxa_allocate_exception|__gxx_personality_v0|"
                                     r"_Unwind_RaiseException|_Unwind_Resume)$")


def is_operator_new(symbol):
    return re.match(r"^_Zn[wa][jm]", symbol) is not None  # operator new / new[] in every overload


def run(*command):
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def sizes(size_tool, elf):
    line = run(size_tool, elf).splitlines()[1].split()
    return int(line[0]), int(line[1]), int(line[2])


def symbols(nm_tool, path, undefined=False):
    """Mangled names: those `path` defines (or, undefined=True, refers to without defining)."""
    out = run(nm_tool, "-u" if undefined else "--defined-only", path)
    return {fields[-1] for fields in (line.split() for line in out.splitlines()) if fields}


def origin(path):
    """Which part of the firmware an input file of the link belongs to."""
    if "libstdc++" in path or "libsupc++" in path:
        return "C++ runtime (libstdc++)"
    if "libgcc" in path or "libc_nano" in path or "libm" in path or "libnosys" in path:
        return "C runtime (newlib, libgcc)"
    if "lwip" in path:
        return "lwIP"
    if "board" in path:
        return "board (startup, tick, LAN9118 driver)"
    return "the echo server (usock and its headers, or plain C)"


def breakdown(map_file):
    """Bytes per origin and output section (text = flash code and constants, data, bss), from the link map."""
    totals = {}
    section = None
    pending = None
    in_map = False
    with open(map_file) as f:
        for line in f:
            if line.startswith("Linker script and memory map"):
                in_map = True
                continue
            if not in_map:
                continue
            m = re.match(r"^(\.\S+)\s", line)
            if m:
                name = m.group(1)
                section = "bss" if name.startswith(".bss") else "data" if name.startswith(".data") else \
                    "text" if not name.startswith((".debug", ".comment", ".ARM.attributes")) else None
                continue
            m = re.match(r"^ (\.\S+|COMMON)\s*$", line)
            if m:
                pending = m.group(1)
                continue
            m = re.match(r"^ (\.\S+|COMMON)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$", line)
            if m and section and (m.group(1) or pending):
                size = int(m.group(3), 16)
                key = (origin(m.group(4)), section)
                totals[key] = totals.get(key, 0) + size
            pending = None
    return totals


def archive_chain(map_file):
    """member -> (the file that needed it, the symbol), from the map's "Archive member included" section."""
    chain = {}
    with open(map_file) as f:
        text = f.read()
    part = text.split("Archive member included to satisfy reference by file (symbol)", 1)[-1]
    part = re.split(r"\n(Discarded input sections|Allocating common symbols|Memory Configuration)", part)[0]
    for m in re.finditer(r"^(\S+)\s*\n?\s+(\S+) \((.*)\)$", part, re.M):
        chain[m.group(1)] = (m.group(2), m.group(3))
    return chain


def defining_member(map_file, symbol_pattern):
    """The input file whose section holds a symbol matching `symbol_pattern` (demangled names in the map)."""
    last_file = None
    with open(map_file) as f:
        for line in f:
            m = re.match(r"^ (?:\.\S+)?\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+(\S+)$", line)
            if m:
                last_file = m.group(1)
                continue
            m = re.match(r"^\s+0x[0-9a-f]+\s+(\S.*)$", line)
            if m and last_file and re.search(symbol_pattern, m.group(1)):
                return last_file
    return None


def why(map_file, member, chain):
    steps = []
    seen = set()
    while member in chain and member not in seen:
        seen.add(member)
        needed_by, symbol = chain[member]
        steps.append(f"{short(member)} <- {short(needed_by)} needs {symbol}")
        member = needed_by
    return steps


def short(path):
    return re.sub(r"^.*/", "", path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", required=True)
    parser.add_argument("--nm", required=True)
    parser.add_argument("--c-elf", required=True)
    parser.add_argument("--usock-elf", required=True)
    parser.add_argument("--usock-map", required=True)
    parser.add_argument("--c-map", required=True)
    parser.add_argument("--usock-object", required=True)
    args = parser.parse_args()

    c = sizes(args.size, args.c_elf)
    u = sizes(args.size, args.usock_elf)
    print("Cortex-M4F echo firmware (arm-none-eabi, -Os, newlib-nano), bytes:")
    print(f"  {'image':<28}{'text':>8}{'data':>8}{'bss':>8}{'flash':>8}")
    for name, (t, d, b) in (("plain C on lwIP's raw API", c), ("usock (lwip_raw backend)", u)):
        print(f"  {name:<28}{t:>8}{d:>8}{b:>8}{t + d:>8}")
    ratio = lambda a, b: f"{a / b:.2f}" if b else "-"
    print(f"  {'ratio usock / C':<28}{ratio(u[0], c[0]):>8}{ratio(u[1], c[1]):>8}{ratio(u[2], c[2]):>8}"
          f"{ratio(u[0] + u[1], c[0] + c[1]):>8}")
    print(f"  {'difference':<28}{u[0] - c[0]:>+8}{u[1] - c[1]:>+8}{u[2] - c[2]:>+8}{u[0] + u[1] - c[0] - c[1]:>+8}")

    for name, map_file in (("usock", args.usock_map), ("plain C", args.c_map)):
        print(f"Where the {name} image's bytes come from (linker map):")
        totals = breakdown(map_file)
        for who in sorted({k[0] for k in totals}):
            t, d, b = (totals.get((who, s), 0) for s in ("text", "data", "bss"))
            print(f"  {who:<52} text {t:>6}  data {d:>5}  bss {b:>6}")

    failures = []
    defined = symbols(args.nm, args.usock_object)
    undefined = symbols(args.nm, args.usock_object, undefined=True)
    for s in sorted(defined | undefined):
        if EXCEPTION_SYMBOLS.match(s):
            failures.append(f"usock's code refers to exception/RTTI machinery: {s}")
        if s.startswith(("_ZTI", "_ZTS")):
            failures.append(f"usock's code has typeinfo: {s}")
    for s in sorted(undefined):
        if s in ALLOCATORS or is_operator_new(s):
            failures.append(f"usock's code refers to a heap allocator: {s}")
    image = symbols(args.nm, args.usock_elf)
    for s in sorted(image):
        if IMAGE_EXCEPTION_SYMBOLS.match(s):
            failures.append(f"the usock image contains exception machinery: {s}")

    chain = archive_chain(args.usock_map)
    notes = []
    typeinfo = sorted(s for s in image if s.startswith("_ZTI"))
    if typeinfo:
        member = defining_member(args.usock_map, r"^typeinfo for ")
        notes.append(f"{len(typeinfo)} typeinfo objects from the C++ runtime (usock's code has none); pulled in by:")
        notes += ["    " + step for step in why(args.usock_map, member, chain)]
    heap = sorted(s for s in image if s in ALLOCATORS or is_operator_new(s))
    if heap:
        member = defining_member(args.usock_map, r"^operator new\(") or defining_member(args.usock_map, r"^_?malloc")
        notes.append(f"heap allocator in the image ({', '.join(heap)}), not referenced by usock's code; pulled in by:")
        notes += ["    " + step for step in why(args.usock_map, member, chain)]
    deletes = sorted(s for s in undefined if re.match(r"^_Zd[la]", s))
    if deletes:
        notes.append("usock's code refers to operator delete (the readline buffer's unique_ptr), never to new: "
                     + ", ".join(deletes))
    for note in notes:
        print("NOTE: " + note)
    for failure in failures:
        print("FAIL: " + failure)
    if failures:
        return 1
    print("OK: no exception or RTTI machinery and no heap allocation from usock's code; no exception machinery "
          "in the image")
    return 0


if __name__ == "__main__":
    sys.exit(main())
