#!/usr/bin/env python3
"""Fills driftd.conf.5.scd.in's @STREAM_KEYS@ and @JOB_KEYS@ from the settings table as
`driftctl keys` prints it (daemon/settings.c, the one place each key's type, range and default
live), so that the manual cannot drift from the code.

usage: settings-keys.py KEYS.md TEMPLATE OUTPUT"""
import sys


def escape(text):
    """scdoc text: its formatting characters escaped, markdown code spans unwrapped."""
    text = text.replace("`", "")
    for c in "\\*_":
        text = text.replace(c, "\\" + c)
    return text


def parse(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f if l.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    want = ["key", "scope", "type", "range", "default", "change", "meaning"]
    if header != want:
        sys.exit(f"{path}: the table's columns are {header}, expected {want}")
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) != len(want):
            sys.exit(f"{path}: a row of {len(cells)} cells: {line}")
        rows.append(dict(zip(want, cells)))
    if not rows:
        sys.exit(f"{path}: no keys")
    return rows


def entry(row):
    key = row["key"].strip("`")
    change = {"live": "live", "restart": "restart", "-": None}[row["change"]]
    meaning = row["meaning"][0].upper() + row["meaning"][1:]
    head = f"*{escape(key)}* = _{row['type']}_"
    if change:
        head += f" ({change})"
    return (f"{head}\n\t{escape(meaning)}. Allowed: {escape(row['range'])}. "
            f"Default: {escape(row['default'])}.\n")


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    rows = parse(sys.argv[1])
    with open(sys.argv[2], encoding="utf-8") as f:
        text = f.read()
    stream = "\n".join(entry(r) for r in rows if "stream" in r["scope"])
    job = "\n".join(entry(r) for r in rows if "stream" not in r["scope"])
    for marker, body in (("@STREAM_KEYS@", stream), ("@JOB_KEYS@", job)):
        if text.count(marker) != 1:
            sys.exit(f"{sys.argv[2]}: {marker} must appear once")
        text = text.replace(marker, body.rstrip("\n"))
    with open(sys.argv[3], "w", encoding="utf-8") as f:
        f.write(text)


main()
