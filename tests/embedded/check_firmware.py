#!/usr/bin/env python3
"""The embedded test: sizes of the usock echo firmware against the plain C one, and what the usock image may not
contain.

Prints both images' text/data/bss (arm-none-eabi-size) and their ratio, and where each image's bytes come from
(its linker map, by input file). Fails when
- the usock image's text is more than --max-ratio times the C image's (default 1.25);
- usock's own code (the echo program's object file, holding the echo loop and every usock header it includes)
  is more than --max-own-over bytes of text larger than the C echo program's object (default 3072);
- the usock image contains exception machinery (__cxa_throw, __gxx_personality_v0, _Unwind_*), a heap allocator
  (malloc & co., free, _sbrk, operator new or delete) or the C library's strerror table;
- usock's code defines or refers to exception or RTTI machinery (__cxa_*, _Unwind_*, __gxx_personality_*,
  typeinfo) or to a heap allocator.
When the image has something it should not, the chain of archive members that pulled it in is printed.

With --asyncio-elf (the asyncio echo image, usock::asyncio on lwip_raw): prints its sizes beside the blocking
usock image's (--usock-elf) and where its bytes come from, and fails when its text is more than
--max-text-over bytes larger than the blocking image's (when given), or when it breaks the same rules as the
usock image above (exception, heap or strerror machinery in the image; exception, RTTI or heap use in its code).
"""
import argparse
import re
import subprocess
import sys

HEAP_SYMBOLS = re.compile(r"^(malloc|calloc|realloc|free|memalign|_malloc_r|_calloc_r|_realloc_r|_free_r|"
                          r"_memalign_r|_sbrk|_sbrk_r|__malloc_av_|__malloc_free_list|_Zn[wa][jm]\w*|"
                          r"_Zd[la]Pv\w*)$")  # the last two: every operator new and delete
STRERROR_SYMBOLS = re.compile(r"^(strerror|strerror_r|_strerror_r|__xpg_strerror_r|_user_strerror)$")
EXCEPTION_SYMBOLS = re.compile(r"^(__cxa_(throw|allocate_exception|begin_catch|end_catch|rethrow|call_unexpected|"
                               r"bad_cast|bad_typeid)|__gxx_personality_\w+|__aeabi_unwind_cpp_pr\d|_Unwind_\w+|__dynamic_cast)$")
IMAGE_EXCEPTION_SYMBOLS = re.compile(r"^(__cxa_throw|__cxa_allocate_exception|__gxx_personality_v0|"
                                     r"_Unwind_RaiseException|_Unwind_Resume)$")
ECHO = "the echo program (usock and its headers, or plain C)"


def run(*command):
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def sizes(size_tool, elf):
    line = run(size_tool, elf).splitlines()[1].split()
    return int(line[0]), int(line[1]), int(line[2])


def symbols(nm_tool, path, undefined=False):
    """Mangled names: those `path` defines (or, undefined=True, refers to without defining)."""
    out = run(nm_tool, "-u" if undefined else "--defined-only", path)
    return {fields[-1] for fields in (line.split() for line in out.splitlines()) if fields}


def short(path):
    return re.sub(r"^.*/", "", path)


def origin(path, echo_objects):
    """Which part of the firmware an input file of the link belongs to."""
    if short(path) in echo_objects:
        return ECHO
    if "libstdc++" in path or "libsupc++" in path:
        return "C++ runtime (libstdc++)"
    if re.search(r"lib(gcc|c_nano|c|m|nosys|g_nano|g)\.a", path) or "crt" in short(path):
        return "C runtime (newlib, libgcc)"
    if "lwip" in path:
        return "lwIP"
    return "board (startup, tick, LAN9118 driver)"


def breakdown(map_file, echo_objects):
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
                key = (origin(m.group(4), echo_objects), section)
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


def defining_member(map_file, symbol):
    """The input file whose section holds `symbol` (as the map names it, demangled), or None."""
    last_file = None
    with open(map_file) as f:
        for line in f:
            m = re.match(r"^ (?:\.\S+)?\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+(\S+)$", line)
            if m:
                last_file = m.group(1)
                continue
            m = re.match(r"^\s+0x[0-9a-f]+\s+(\S.*)$", line)
            if m and last_file and (m.group(1) == symbol or m.group(1).startswith(symbol + "(")):
                return last_file
    return None


def why(member, chain):
    steps = []
    seen = set()
    while member in chain and member not in seen:
        seen.add(member)
        needed_by, symbol = chain[member]
        steps.append(f"{short(member)} <- {short(needed_by)} needs {symbol}")
        member = needed_by
    return steps


def demangle(names):
    """C++ names as the linker map prints them (c++filt, when it is installed)."""
    try:
        return run("c++filt", *names).split("\n")[:len(names)]
    except (OSError, subprocess.CalledProcessError):
        return list(names)


def forbidden(args, elf, map_file, obj, name):
    """What the image `elf` and its program's object `obj` may not contain: exception, RTTI or heap use in the
    program's code; exception machinery, a heap allocator or the strerror table in the image."""
    failures = []
    defined = symbols(args.nm, obj)
    undefined = symbols(args.nm, obj, undefined=True)
    for s in sorted(defined | undefined):
        if EXCEPTION_SYMBOLS.match(s):
            failures.append(f"{name}'s code refers to exception/RTTI machinery: {s}")
        if s.startswith(("_ZTI", "_ZTS")):
            failures.append(f"{name}'s code has typeinfo: {s}")
    for s in sorted(undefined):
        if HEAP_SYMBOLS.match(s):
            failures.append(f"{name}'s code refers to a heap allocator: {s}")

    image = symbols(args.nm, elf)
    chain = archive_chain(map_file)
    for what, pattern in (("exception machinery", IMAGE_EXCEPTION_SYMBOLS), ("a heap allocator", HEAP_SYMBOLS),
                          ("the C library's strerror table", STRERROR_SYMBOLS)):
        found = sorted(s for s in image if pattern.match(s))
        if not found:
            continue
        names = demangle(found)
        failures.append(f"the {name} image contains {what}: {', '.join(names)}")
        member = defining_member(map_file, names[0])
        for step in why(member, chain) if member else []:
            failures.append("    pulled in by: " + step)
    return failures


def asyncio_mode(args):
    """The asyncio echo image against the blocking usock one: text at most --max-text-over bytes more."""
    echo_objects = {short(args.usock_object), short(args.asyncio_object)}
    b = sizes(args.size, args.usock_elf)
    a = sizes(args.size, args.asyncio_elf)
    print("Cortex-M4F echo firmware on usock (arm-none-eabi, -Os, newlib-nano), bytes:")
    print(f"  {'image':<36}{'text':>8}{'data':>8}{'bss':>8}{'flash':>8}")
    for name, (t, d, bss) in (("blocking (echo_usock.elf)", b), ("asyncio (echo_asyncio.elf)", a)):
        print(f"  {name:<36}{t:>8}{d:>8}{bss:>8}{t + d:>8}")
    print(f"  {'difference':<36}{a[0] - b[0]:>+8}{a[1] - b[1]:>+8}{a[2] - b[2]:>+8}{a[0] + a[1] - b[0] - b[1]:>+8}")
    for name, map_file in (("asyncio", args.asyncio_map), ("blocking", args.usock_map)):
        print(f"Where the {name} image's bytes come from (linker map):")
        totals = breakdown(map_file, echo_objects)
        for who in sorted({k[0] for k in totals}):
            t, d, bss = (totals.get((who, s), 0) for s in ("text", "data", "bss"))
            print(f"  {who:<56} text {t:>6}  data {d:>5}  bss {bss:>6}")

    failures = forbidden(args, args.asyncio_elf, args.asyncio_map, args.asyncio_object, "asyncio")
    over = a[0] - b[0]
    if args.max_text_over is not None and over > args.max_text_over:
        failures.append(f"the asyncio image's text is {over} bytes over the blocking image's (at most "
                        f"{args.max_text_over}: {over - args.max_text_over} too many)")
    for failure in failures:
        print("FAIL: " + failure)
    if failures:
        return 1
    goal = f" (at most {args.max_text_over:+})" if args.max_text_over is not None else " (size goal not checked here)"
    print(f"OK: the asyncio image's text is {over:+} bytes over the blocking image's{goal}; no exception "
          "machinery, heap allocator or strerror table in the image, no exception, RTTI or heap use in its code")
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", required=True)
    parser.add_argument("--nm", required=True)
    parser.add_argument("--c-elf")
    parser.add_argument("--c-map")
    parser.add_argument("--c-object", help="the C echo program's object file")
    parser.add_argument("--usock-elf", required=True)
    parser.add_argument("--usock-map", required=True)
    parser.add_argument("--usock-object", required=True, help="the usock echo program's object file")
    parser.add_argument("--max-ratio", type=float, default=1.25, help="usock text / C text")
    parser.add_argument("--max-own-over", type=int, default=3072,
                        help="bytes of text the usock echo program's object may have over the C one's")
    parser.add_argument("--asyncio-elf", help="the asyncio echo image: checked against the blocking usock one")
    parser.add_argument("--asyncio-map")
    parser.add_argument("--asyncio-object", help="the asyncio echo program's object file")
    parser.add_argument("--max-text-over", type=int, default=None,
                        help="bytes of text the asyncio image may have over the blocking usock image (the size "
                             "goal; without it the difference is printed, not checked)")
    args = parser.parse_args()
    if args.asyncio_elf:
        if not args.asyncio_map or not args.asyncio_object:
            parser.error("--asyncio-elf needs --asyncio-map and --asyncio-object")
        return asyncio_mode(args)
    if not args.c_elf or not args.c_map or not args.c_object:
        parser.error("--c-elf, --c-map and --c-object are required (or --asyncio-elf and its files)")
    echo_objects = {short(args.c_object), short(args.usock_object)}

    c = sizes(args.size, args.c_elf)
    u = sizes(args.size, args.usock_elf)
    print("Cortex-M4F echo firmware (arm-none-eabi, -Os, newlib-nano), bytes:")
    print(f"  {'image':<28}{'text':>8}{'data':>8}{'bss':>8}{'flash':>8}")
    for name, (t, d, b) in (("plain C on lwIP's raw API", c), ("usock (lwip_raw backend)", u)):
        print(f"  {name:<28}{t:>8}{d:>8}{b:>8}{t + d:>8}")
    ratio = lambda a, b: f"{a / b:.3f}" if b else "-"
    print(f"  {'ratio usock / C':<28}{ratio(u[0], c[0]):>8}{ratio(u[1], c[1]):>8}{ratio(u[2], c[2]):>8}"
          f"{ratio(u[0] + u[1], c[0] + c[1]):>8}")
    print(f"  {'difference':<28}{u[0] - c[0]:>+8}{u[1] - c[1]:>+8}{u[2] - c[2]:>+8}{u[0] + u[1] - c[0] - c[1]:>+8}")

    own = {}
    for name, map_file in (("usock", args.usock_map), ("plain C", args.c_map)):
        print(f"Where the {name} image's bytes come from (linker map):")
        totals = breakdown(map_file, echo_objects)
        own[name] = totals.get((ECHO, "text"), 0)
        for who in sorted({k[0] for k in totals}):
            t, d, b = (totals.get((who, s), 0) for s in ("text", "data", "bss"))
            print(f"  {who:<56} text {t:>6}  data {d:>5}  bss {b:>6}")
    own_over = own["usock"] - own["plain C"]
    print(f"usock's own code: {own['usock']} bytes of text against the C echo program's {own['plain C']}: "
          f"{own_over:+} (at most {args.max_own_over:+})")

    failures = []
    if c[0] and u[0] / c[0] > args.max_ratio:
        failures.append(f"the usock image's text is {u[0] / c[0]:.3f} times the C image's (at most {args.max_ratio})")
    if own_over > args.max_own_over:
        failures.append(f"usock's own code is {own_over} bytes over the C echo program's (at most {args.max_own_over})")

    failures += forbidden(args, args.usock_elf, args.usock_map, args.usock_object, "usock")

    for failure in failures:
        print("FAIL: " + failure)
    if failures:
        return 1
    print(f"OK: text ratio {u[0] / c[0]:.3f} (at most {args.max_ratio}), own code {own_over:+} bytes (at most "
          f"{args.max_own_over:+}); no exception machinery, heap allocator or strerror table in the image, no "
          "exception, RTTI or heap use in usock's code")
    return 0


if __name__ == "__main__":
    sys.exit(main())
