#!/usr/bin/env python3
"""Runs one usock example as a test, on loopback only, with a time limit on everything.

    run_example.py [--server ECHO_SERVER] [--expect REGEX]... -- EXAMPLE [ARG]...

With --server, starts ECHO_SERVER 127.0.0.1 0 first, reads the port from its first line ("listening on port N"),
runs EXAMPLE ARG... 127.0.0.1 N, and stops the server afterwards. Passes when the example exits with status 0,
its output matches every --expect regular expression, and the server (if any) is still serving.
"""
import argparse
import re
import subprocess
import sys
import threading

START_TIMEOUT = 10  # seconds for the server to print its port
RUN_TIMEOUT = 25    # seconds for the example to finish


def first_line(process, timeout):
    """The first line the process prints, or None if it prints none within `timeout` seconds."""
    lines = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return lines[0] if lines else None


def stop(process):
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", help="the echo server example to run the example against")
    parser.add_argument("--expect", action="append", default=[], help="a regex the example's output must match")
    parser.add_argument("command", nargs="+", help="the example and its arguments before HOST PORT")
    args = parser.parse_args()

    server = None
    command = list(args.command)
    try:
        if args.server:
            server = subprocess.Popen([args.server, "127.0.0.1", "0"], stdout=subprocess.PIPE, text=True)
            line = first_line(server, START_TIMEOUT)
            match = re.fullmatch(r"listening on port (\d+)\n", line or "")
            if not match or match.group(1) == "0":
                print(f"FAIL: the server's first line was {line!r}, not 'listening on port N'")
                return 1
            command += ["127.0.0.1", match.group(1)]
        print("$", " ".join(command), flush=True)
        try:
            result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                    timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired as e:
            print(e.stdout or "", end="")
            print(f"FAIL: the example did not finish within {RUN_TIMEOUT} s")
            return 1
        print(result.stdout, end="")
        failures = [f"exit status {result.returncode}"] if result.returncode != 0 else []
        failures += [f"no match for {pattern!r}" for pattern in args.expect
                     if not re.search(pattern, result.stdout, re.MULTILINE)]
        if server is not None and server.poll() is not None:
            failures.append(f"the echo server exited (status {server.returncode}) instead of serving on")
        for failure in failures:
            print("FAIL:", failure)
        return 1 if failures else 0
    finally:
        if server is not None:
            stop(server)


if __name__ == "__main__":
    sys.exit(main())
