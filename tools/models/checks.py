"""The tally of the model checks (check_*.py, run by ctest): expect() prints each check, finish() exits
non-zero when any failed."""
import sys

failures = []


def expect(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def finish(passed=None):
    """exit 1 after saying how many checks failed; else print `passed` (if given) and return"""
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    if passed:
        print(passed)
