"""Regenerates one golden case with the reference into a temporary directory and compares every file of
that case byte for byte with tests/fixtures/models/. Exit 0 = identical.

  /usr/bin/python3 tools/models/check_golden.py audio-euler
"""
import json
import os
import subprocess
import sys
import tempfile

root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
fixtures = os.path.join(root, "tests", "fixtures", "models")


def files_of(entry):
    out = []
    for v in entry.values():
        if isinstance(v, dict):
            if "file" in v:
                out.append(v["file"])
            out += files_of(v)
    return out


def main():
    case = sys.argv[1]
    index = json.load(open(os.path.join(fixtures, "index.json")))
    want = files_of(index["cases"][case])
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, os.path.join(root, "tools", "models", "reference.py"), "golden",
                        "--out", tmp, "--case", case], check=True)
        bad = []
        for f in want:
            a = open(os.path.join(fixtures, f), "rb").read()
            b = open(os.path.join(tmp, f), "rb").read()
            if a != b:
                bad.append(f)
        if bad:
            print(f"{case}: differs from the committed fixture: {', '.join(bad)}")
            sys.exit(1)
    print(f"{case}: {len(want)} files identical")


if __name__ == "__main__":
    main()
