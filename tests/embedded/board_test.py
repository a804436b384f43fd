#!/usr/bin/env python3
"""The board test: boots echo firmware images on QEMU's mps2-an386 (a Cortex-M4F with a LAN9118) and checks
them from the host through QEMU's user network, which forwards a port on 127.0.0.1 to the board's port 9000.

Each image is booted in its own QEMU (a bounded wait for the board's "network up" line, the forwarded port read
from QEMU's monitor), then checked by one client: CPython's socket module (--client python) or usock's POSIX
backend (--client PATH, the board_client program). The checks: a small echo, 200 round trips, 16 MiB each way
byte-exact, 100 connect/echo/close cycles, several clients at once, a client that resets mid-stream and one
that half-closes, each followed by a small echo proving the board still serves. Prints round-trip time and
throughput per image, so the images are compared in the same run. QEMU is stopped through its monitor (killed if
it does not go) and must not have exited on its own: the firmware's fault handlers exit with a status, named.

Other modes: --fault-probe ELF boots an image that lets 500 ticks pass and then faults on purpose, and checks
that the ticks took about half a second and the exit status the fault handlers give; --stall-survey N runs N
bulk echoes of 4 MiB per image and prints how many stalled (to compare the naive C server with the careful
one); --frames N counts the frames on the board's network during N round trips (QEMU's filter-dump);
--bulk-clients N runs N bulk echoes of 1 MiB each way at once per image (memory pressure: lwIP runs out of
segments and buffers), then a small echo, and prints how long each took and its longest wait.
Exit status 77 (a skip) only when qemu-system-arm is missing.
"""
import argparse
import ctypes
import os
import random
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

MiB = 1024 * 1024
BOOT_TIMEOUT = 15.0  # seconds for QEMU to start and the board to say it is up
IO_TIMEOUT = 30.0  # seconds any socket call may block
# Seconds without an echoed byte in the 16 MiB check that make a stall (lwIP's retransmission timeouts last
# seconds); without one, the longest wait in 200 runs of the usock and C images, at load average 8-11, was 0.12 s.
STALL = 3.0
FAULT_EXIT = {99: "board_fatal()", 102: "NMI", 103: "HardFault", 104: "MemManage fault", 105: "BusFault",
              106: "UsageFault"}


class failure(Exception):
    pass


def die_with_parent():
    """In a child before exec: the kernel ends it when this driver ends, however it ends (a CTest timeout kills
    the driver alone), so no QEMU or client outlives the test."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def exit_meaning(status):
    if status in FAULT_EXIT:
        return f"status {status}: the firmware stopped on {FAULT_EXIT[status]}"
    if status is not None and 100 <= status < 100 + 16 + 14:
        return f"status {status}: the firmware took unexpected exception {status - 100}"
    return f"status {status}"


class board:
    """One QEMU running one image; a context manager that always stops QEMU. serving=False: an image that is
    expected to stop by itself (the monitor and the forwarded port are not looked up)."""

    def __init__(self, qemu, elf, serving=True, dump=False):
        self.qemu, self.elf, self.serving, self.dump = qemu, elf, serving, dump
        self.lines, self.line_times = [], []  # QEMU's output, and when each line came (time.monotonic())
        self.up = threading.Event()
        self.monitor = None
        self.port = None
        self.exit_status = None  # QEMU's status when it ended on its own (the firmware stopped)
        self.quit_status = None  # QEMU's status after the monitor's quit (0: a clean exit)

    def __enter__(self):
        self.directory = tempfile.mkdtemp(prefix="usock-board-")
        monitor_path = os.path.join(self.directory, "monitor")
        command = [self.qemu, "-M", "mps2-an386", "-nographic", "-serial", "none",
                   "-semihosting-config", "enable=on,target=native", "-kernel", self.elf,
                   "-monitor", f"unix:{monitor_path},server=on,wait=off"]
        network = "user,restrict=on,hostfwd=tcp:127.0.0.1:0-:9000"
        if self.dump:  # every frame of the board's network into a pcap file (the same network, named)
            self.pcap = os.path.join(self.directory, "frames.pcap")
            command += ["-netdev", f"{network},id=net0", "-net", "nic,netdev=net0,model=lan9118",
                        "-object", f"filter-dump,id=dump0,netdev=net0,file={self.pcap}"]
        else:
            command += ["-nic", network.replace("user,", "user,model=lan9118,")]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        self.reader = threading.Thread(target=self._read_output, daemon=True)
        self.reader.start()
        try:
            if not self.up.wait(BOOT_TIMEOUT) or (self.serving and self.process.poll() is not None):
                raise failure(f"{self.elf}: no 'network up' line within {BOOT_TIMEOUT} s ({self.describe_exit()})")
            if not self.serving:
                return self
            self.monitor = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.monitor.settimeout(10)
            self.monitor.connect(monitor_path)
            self.port = self._forwarded_port()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        if self.process.poll() is None:
            try:
                if self.monitor:
                    self.monitor.sendall(b"quit\n")
                self.quit_status = self.process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        else:
            self.exit_status = self.process.returncode  # it ended on its own: the firmware stopped
        if self.monitor:
            self.monitor.close()
        self.reader.join(timeout=5)
        shutil.rmtree(self.directory, ignore_errors=True)
        return False

    def _read_output(self):
        for raw in self.process.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            self.lines.append(line)
            self.line_times.append(time.monotonic())
            if "board: network up" in line:
                self.up.set()
        self.up.set()  # QEMU ended: whoever waits stops waiting

    def _forwarded_port(self):
        self.monitor.sendall(b"info usernet\n")
        text = b""
        deadline = time.monotonic() + 10
        pattern = re.compile(rb"TCP\[HOST_FORWARD\]\s+\d+\s+127\.0\.0\.1\s+(\d+)\s+10\.0\.2\.15\s+9000")
        while time.monotonic() < deadline:
            chunk = self.monitor.recv(4096)
            if not chunk:
                break
            text += chunk
            m = pattern.search(text)
            if m:
                return int(m.group(1))
        raise failure(f"no forwarded port in the monitor's 'info usernet': {text!r}")

    def frames(self):
        """The frames dumped so far (dump=True), each as bytes: pcap records after the 24-byte file header."""
        with open(self.pcap, "rb") as f:
            data = f.read()[24:]
        frames, offset = [], 0
        while offset + 16 <= len(data):
            length = struct.unpack_from("<I", data, offset + 8)[0]
            frames.append(data[offset + 16:offset + 16 + length])
            offset += 16 + length
        return frames

    def describe_exit(self):
        status = self.process.poll()
        tail = "\n".join("    qemu| " + line for line in self.lines[-10:])
        return ("QEMU still running" if status is None else "QEMU exited, " + exit_meaning(status)) + \
            (":\n" + tail if tail else "")

    def check_alive(self):
        if self.process.poll() is not None:
            raise failure(f"{self.elf}: {self.describe_exit()}")


# ---- the checks with CPython's socket module ----

def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exactly(s, n):
    data = bytearray()
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise failure(f"the board closed after {len(data)} of {n} bytes")
        data += chunk
    return bytes(data)


def expect_eof(s):
    rest = s.recv(1)
    if rest:
        raise failure(f"expected the board's close, got {rest!r}")


def small_echo(port):
    with connect(port) as s:
        s.sendall(b"usock on the board\n")
        got = recv_exactly(s, 19)
        if got != b"usock on the board\n":
            raise failure(f"small echo: got {got!r}")


def round_trips(port, count=200, size=32):
    times = []
    with connect(port) as s:
        for i in range(count):
            message = bytes((i + k) & 0xFF for k in range(size))
            start = time.perf_counter()
            s.sendall(message)
            got = recv_exactly(s, size)
            times.append(time.perf_counter() - start)
            if got != message:
                raise failure(f"round trip {i}: got {got!r}")
    return statistics.median(times) * 1e3


def bulk(port, size=16 * MiB, seed=16):
    """size bytes to the board while reading its echo; returns MiB/s each way, the seconds it took, and the
    longest wait between two arrivals of echoed bytes (a retransmission timeout shows as one of 0.5 s or more)."""
    data = random.Random(seed).randbytes(size)
    errors = []

    def send_all(s):
        try:
            view = memoryview(data)
            for offset in range(0, size, 64 * 1024):
                s.sendall(view[offset:offset + 64 * 1024])
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            errors.append(e)

    with connect(port) as s:
        start = time.perf_counter()
        sender = threading.Thread(target=send_all, args=(s,))
        sender.start()
        received = 0
        buffer = bytearray(256 * 1024)
        longest_wait, last = 0.0, start
        try:
            while received < size:
                n = s.recv_into(buffer)
                now = time.perf_counter()
                longest_wait, last = max(longest_wait, now - last), now
                if n == 0:
                    raise failure(f"bulk: the board closed after {received} of {size} bytes")
                if buffer[:n] != data[received:received + n]:
                    raise failure(f"bulk: bytes {received}..{received + n} differ")
                received += n
            expect_eof(s)
        finally:
            sender.join()
        elapsed = time.perf_counter() - start
    if errors:
        raise failure(f"bulk: sending failed: {errors[0]}")
    return size / MiB / elapsed, elapsed, longest_wait


def bulk_without_stall(port):
    rate, elapsed, longest_wait = bulk(port)
    if longest_wait >= STALL:
        raise failure(f"bulk: no echoed byte for {longest_wait:.2f} s (a stall)")
    return rate, elapsed, longest_wait


def cycles(port, count=100):
    start = time.perf_counter()
    for i in range(count):
        with connect(port) as s:
            message = b"cycle %05d\n" % i
            s.sendall(message)
            if recv_exactly(s, len(message)) != message:
                raise failure(f"cycle {i}: wrong echo")
    return (time.perf_counter() - start) / count * 1e3


def concurrent_clients(port, clients, size=256 * 1024):
    """clients connect at once, each echoing its own size bytes in 1 KiB round trips."""
    barrier = threading.Barrier(clients)
    errors = []

    def client(index):
        try:
            barrier.wait(timeout=IO_TIMEOUT)
            with connect(port) as s:
                for offset in range(0, size, 1024):
                    message = bytes(((index * 31 + offset // 1024 + k) & 0xFF) for k in range(1024))
                    s.sendall(message)
                    if recv_exactly(s, 1024) != message:
                        raise failure(f"client {index}: wrong echo at {offset}")
        except Exception as e:  # reported by the main thread
            errors.append(f"client {index}: {e!r}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise failure("; ".join(errors))


def reset_mid_stream(port):
    s = connect(port)
    s.sendall(random.Random(1).randbytes(64 * 1024))
    recv_exactly(s, 1024)  # the echo has started: the board is mid-stream
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()  # a reset, with data in flight both ways


def half_close(port, size=1 * MiB):
    data = random.Random(2).randbytes(size)
    with connect(port) as s:
        def send_then_shut():
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        sender = threading.Thread(target=send_then_shut)
        sender.start()
        try:
            got = recv_exactly(s, size)
            expect_eof(s)
        finally:
            sender.join()
    if got != data:
        raise failure("half-close: the echo differs")


def python_checks(b, clients):
    figures = {}

    def step(name, function, *args):
        start = time.perf_counter()
        result = function(b.port, *args)
        small_echo(b.port)  # the board still serves
        b.check_alive()
        print(f"  ok: {name} ({time.perf_counter() - start:.2f} s)", flush=True)
        return result

    step("small echo", small_echo)
    figures["rtt_ms"] = step("200 round trips of 32 bytes", round_trips)
    figures["bulk_mib_s"], _, _ = step("16 MiB each way, byte-exact, no stall", bulk_without_stall)
    figures["cycle_ms"] = step("100 connect/echo/close cycles", cycles)
    step(f"{clients} clients at once", concurrent_clients, clients)
    step("a client resetting mid-stream (SO_LINGER 0)", reset_mid_stream)
    step("a client half-closing (shutdown(SHUT_WR), then reading the rest)", half_close)
    return figures


def usock_checks(b, clients, program):
    """Runs the board_client program (usock's POSIX backend) against the board; it prints 'ok:' lines and one
    'figures:' line."""
    try:
        run = subprocess.run([program, str(b.port), str(clients)], capture_output=True, text=True, timeout=120,
                             preexec_fn=die_with_parent)
    except subprocess.TimeoutExpired:
        raise failure("board_client did not finish within 120 s")
    for line in run.stdout.splitlines():
        if not line.startswith("figures:"):
            print("  " + line)
    if run.stderr:
        print(run.stderr)
    b.check_alive()
    if run.returncode != 0:
        raise failure(f"board_client failed (exit status {run.returncode})")
    m = re.search(r"^figures: rtt_ms=(\S+) bulk_mib_s=(\S+) cycle_ms=(\S+)$", run.stdout, re.M)
    if not m:
        raise failure("board_client printed no figures line")
    small_echo(b.port)
    return {"rtt_ms": float(m.group(1)), "bulk_mib_s": float(m.group(2)), "cycle_ms": float(m.group(3))}


def parse_image(text):
    """LABEL=ELF=CLIENTS"""
    label, elf, clients = text.rsplit("=", 2)
    return label, elf, int(clients)


def echo_mode(args):
    results = []
    for label, elf, clients in args.image:
        print(f"{label}: booting {os.path.basename(elf)}", flush=True)
        start = time.perf_counter()
        with board(args.qemu, elf) as b:
            print(f"  up in {time.perf_counter() - start:.2f} s, forwarded port 127.0.0.1:{b.port}", flush=True)
            if args.client == "python":
                figures = python_checks(b, clients)
            else:
                figures = usock_checks(b, clients, args.client)
        if b.exit_status is not None:
            raise failure(f"{label}: QEMU exited on its own, {exit_meaning(b.exit_status)}")
        if b.quit_status != 0:
            raise failure(f"{label}: QEMU did not exit cleanly on the monitor's quit (status {b.quit_status})")
        for line in b.lines:  # what the firmware reported on its log (the asyncio image: frames and arena)
            if line.startswith("echo_"):
                print(f"  board| {line}")
        results.append((label, figures))
    client = "CPython socket" if args.client == "python" else "usock POSIX backend"
    print(f"\nFigures through QEMU's user network, client: {client} (RTT: median of 200 round trips of 32 "
          f"bytes; bulk: 16 MiB each way at once; cycle: mean of 100 connect/echo/close)")
    print(f"  {'image':<34}{'RTT ms':>9}{'bulk MiB/s':>12}{'cycle ms':>10}")
    for label, f in results:
        print(f"  {label:<34}{f['rtt_ms']:>9.3f}{f['bulk_mib_s']:>12.2f}{f['cycle_ms']:>10.2f}")


def fault_mode(args):
    with board(args.qemu, args.fault_probe, serving=False) as b:
        try:
            b.process.wait(timeout=15)  # the probe faults half a second after its "network up" line
        except subprocess.TimeoutExpired:
            raise failure("the fault probe is still running 15 s after it came up: its fault went unreported")
    print("\n".join("  qemu| " + line for line in b.lines))

    def when(text):
        times = [t for line, t in zip(b.lines, b.line_times) if text in line]
        if not times:
            raise failure(f"no '{text}' line")
        return times[0]

    ticks = when("probe: 500 ticks") - when("board: network up")
    # 500 ticks of a 1 kHz SysTick: half a second of the host's time (the guest's clock follows it). A tick at
    # the wrong rate (the 168 MHz of the old board, or 10 kHz) would be at least 6 times off.
    if not 0.45 <= ticks <= 3.0:
        raise failure(f"500 ticks took {ticks:.3f} s of the host's time, not about 0.5 s: SysTick is not at 1 kHz")
    print(f"ok: 500 ticks of sys_now() took {ticks:.3f} s of the host's time")
    if b.exit_status != 106:
        raise failure(f"expected exit status 106 (UsageFault), got {exit_meaning(b.exit_status)}")
    when("board: fault: UsageFault")
    print(f"ok: the fault ended QEMU with {exit_meaning(b.exit_status)}, reported on the board's log")


def stall_mode(args):
    for label, elf, _ in args.image:
        with board(args.qemu, elf) as b:
            times, waits = [], []
            for _ in range(args.stall_survey):
                _, elapsed, longest_wait = bulk(b.port, size=4 * MiB)
                times.append(elapsed)
                waits.append(longest_wait)
            b.check_alive()
        stalled = sum(1 for w in waits if w >= args.stall_seconds)
        print(f"{label}: {args.stall_survey} runs of 4 MiB each way: {stalled} stalled (no echoed byte for "
              f"{args.stall_seconds} s or more; longest waits {', '.join(f'{w:.2f}' for w in sorted(waits)[-3:])} "
              f"s); time per run min {min(times):.2f} s, median {statistics.median(times):.2f} s, max "
              f"{max(times):.2f} s", flush=True)


def bulk_clients_mode(args):
    """N clients at once, each echoing 1 MiB each way (bulk()); all must finish, then the board must still serve."""
    for label, elf, _ in args.image:
        with board(args.qemu, elf) as b:
            results, errors = {}, []

            def client(index):
                try:
                    results[index] = bulk(b.port, size=1 * MiB, seed=index)
                except Exception as e:  # reported by the main thread
                    errors.append(f"client {index}: {e!r}")

            start = time.perf_counter()
            threads = [threading.Thread(target=client, args=(i,)) for i in range(args.bulk_clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - start
            if errors:
                raise failure(f"{label}: " + "; ".join(errors))
            small_echo(b.port)
            b.check_alive()
        print(f"{label}: {args.bulk_clients} clients echoing 1 MiB each way at once, all byte-exact, in "
              f"{elapsed:.2f} s; each client's time "
              f"{', '.join(f'{results[i][1]:.2f}' for i in sorted(results))} s, longest wait between echoed "
              f"bytes {max(r[2] for r in results.values()):.2f} s; the board serves afterwards", flush=True)


def frames_mode(args):
    """Frames on the board's network during N round trips of 32 bytes, and how many the board sent."""
    board_address = bytes([10, 0, 2, 15])
    for label, elf, _ in args.image:
        with board(args.qemu, elf, dump=True) as b:
            with connect(b.port) as s:
                s.sendall(b"x" * 32)
                recv_exactly(s, 32)  # connected and warm: ARP and the handshake are behind
                before = len(b.frames())
                for i in range(args.frames):
                    s.sendall(bytes([i & 0xFF]) * 32)
                    recv_exactly(s, 32)
                during = b.frames()[before:]
        # IPv4 source address at bytes 26..29 of an Ethernet frame; the dump may still miss the last ACKs, so
        # the count is read while the connection is open and the board's frames are what it is judged by.
        sent = sum(1 for f in during if f[12:14] == b"\x08\x00" and f[26:30] == board_address)
        print(f"{label}: {args.frames} round trips of 32 bytes: {len(during)} frames, {sent} from the board "
              f"({sent / args.frames:.2f} per round trip)", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--qemu", default="qemu-system-arm")
    parser.add_argument("--client", default="python", help="'python', or the path of the board_client program")
    parser.add_argument("--image", action="append", type=parse_image, default=[], help="LABEL=ELF=CLIENTS")
    parser.add_argument("--fault-probe", help="an image that faults on purpose")
    parser.add_argument("--stall-survey", type=int, help="runs of 4 MiB per image, timed")
    parser.add_argument("--frames", type=int, help="round trips per image, counting the frames on the network")
    parser.add_argument("--stall-seconds", type=float, default=0.5, help="a wait this long counts as a stall")
    parser.add_argument("--bulk-clients", type=int, help="clients echoing 1 MiB each way at once, per image")
    args = parser.parse_args()
    qemu = shutil.which(args.qemu)
    if not qemu:
        print(f"SKIP: {args.qemu} is not installed (apt-get install qemu-system-arm)")
        return 77
    args.qemu = qemu
    try:
        if args.fault_probe:
            fault_mode(args)
        elif args.stall_survey:
            stall_mode(args)
        elif args.frames:
            frames_mode(args)
        elif args.bulk_clients:
            bulk_clients_mode(args)
        else:
            echo_mode(args)
    except (failure, OSError) as e:
        print(f"FAIL: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
