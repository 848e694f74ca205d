#!/usr/bin/env python3
"""The manual pages against the code: every option of driftd, driftctl, drift-gen and
drift-bench (their option tables and --help), every command, every key of driftd.conf with its
range (driftd's own messages and `driftctl keys`), and groff finds nothing to warn about.

usage: man_test.py BUILD SOURCE"""
import os
import re
import subprocess
import sys
import tempfile

build, source = sys.argv[1], sys.argv[2]
man_src = os.path.join(source, "docs", "man")
man_bin = os.path.join(build, "docs", "man")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def unescape(text):
    return re.sub(r"\\(.)", r"\1", text)


def section(text, title):
    """The body of '# TITLE' in an scdoc page."""
    m = re.search(r"^# " + re.escape(title) + r"\n(.*?)(?=^# |\Z)", text, re.M | re.S)
    return m.group(1) if m else ""


def entries(body):
    """The heads of the entries of a section (lines starting with '*') -> their text."""
    out = {}
    for m in re.finditer(r"^(\*.*)\n((?:\t.*\n?)*)", body, re.M):
        out[m.group(1)] = m.group(2)
    return out


def options_in(text):
    return set(re.findall(r"\*(--?[a-z][a-z-]*)\*", text))


def run(*args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=60, **kw)


def compare(page, what, documented, code):
    check(documented == code, f"{page}: {what}: the page has {sorted(documented)}, the code "
          f"{sorted(code)} (missing: {sorted(code - documented)}, extra: {sorted(documented - code)})")


prog = {
    "driftd": os.path.join(build, "daemon", "driftd"),
    "driftctl": os.path.join(build, "daemon", "driftctl"),
    "drift-gen": os.path.join(build, "gen", "drift-gen"),
    "drift-bench": os.path.join(build, "bench", "drift-bench"),
}
for name, path in prog.items():
    if not os.access(path, os.X_OK):
        print(f"{path} not built; skipping")
        sys.exit(77)

# driftd(8): its getopt table and its --help.
page = read(os.path.join(man_src, "driftd.8.scd"))
table = set("--" + o for o in re.findall(r'\{ "([a-z-]+)", (?:no|required)_argument',
                                         read(os.path.join(source, "daemon", "main.c"))))
helped = set(re.findall(r"^\s+(--[a-z-]+)", run(prog["driftd"], "--help").stdout, re.M))
check(helped <= table, f"driftd --help shows {sorted(helped - table)} that its table lacks")
compare("driftd.8", "options", options_in(section(page, "OPTIONS")) - {"-h"}, table)

# driftctl(1): its commands (--help prints its command table), global and render options.
page = read(os.path.join(man_src, "driftctl.1.scd"))
out = run(prog["driftctl"], "--help").stdout
commands = set(re.findall(r"^  ([a-z]+) ", out, re.M))
check(len(commands) >= 10, f"driftctl --help lists only {sorted(commands)}")
documented = set(re.findall(r"^\*([a-z]+)\*", section(page, "COMMANDS"), re.M))
compare("driftctl.1", "commands", documented, commands)
ctl = read(os.path.join(source, "daemon", "ctl", "driftctl.c"))
globals_ = set(re.findall(r'!strcmp\(a, "(--?[a-z][a-z-]*)"\)', ctl))
compare("driftctl.1", "options", options_in(section(page, "OPTIONS")), globals_)
render_opts = set(re.findall(r'!strcmp\(argv\[i\], "(--[a-z-]+)"\)',
                             read(os.path.join(source, "daemon", "ctl", "ctl_jobs.c"))))
render_entry = [v for k, v in entries(section(page, "COMMANDS")).items() if k.startswith("*render*")]
check(render_entry, "driftctl.1: no render command")
render_head = [k for k in entries(section(page, "COMMANDS")) if k.startswith("*render*")]
compare("driftctl.1", "render's options", options_in(" ".join(render_head)), render_opts)

# drift-gen(1): its getopt table.
page = read(os.path.join(man_src, "drift-gen.1.scd"))
table = set("--" + o for o in re.findall(r'\{ "([a-z-]+)", [01], 0, \'.\' \}',
                                         read(os.path.join(source, "gen", "drift_gen.c"))))
check(len(table) >= 10, f"drift-gen's option table: only {sorted(table)} found")
compare("drift-gen.1", "options", options_in(section(page, "OPTIONS")), table)
usage = run(prog["drift-gen"], "--help").stdout
for o in sorted(table - {"--help"}):
    check(o in usage, f"drift-gen --help lacks {o}")

# drift-bench(1): its commands, and each command's options as its usage line shows them (a bad
# option prints the usage and runs nothing).
page = read(os.path.join(man_src, "drift-bench.1.scd"))
out = run(prog["drift-bench"], "--help").stdout
commands = set(re.findall(r"^  ([a-z]+) ", out, re.M))
heads = {re.match(r"\*([a-z]+)\*", k).group(1): k
         for k in entries(section(page, "COMMANDS")) if re.match(r"\*[a-z]+\*", k)}
compare("drift-bench.1", "commands", set(heads), commands)
for command in sorted(commands & set(heads)):
    r = run(prog["drift-bench"], command, "--no-such-option")
    check(r.returncode == 2, f"drift-bench {command} --no-such-option exited {r.returncode}, not 2")
    usage = [l for l in r.stderr.splitlines() if l.startswith("usage:")]
    code = set(re.findall(r"--[a-z][a-z-]*", usage[0])) if usage else set()
    compare("drift-bench.1", f"{command}'s options", options_in(heads[command]), code)

# driftd.conf(5): the sections and keys driftd knows, as its messages list them, with the ranges
# of the numbers; the stream and job keys as `driftctl keys` prints the table.
page = read(os.path.join(man_src, "driftd.conf.5.scd.in"))
generated_path = os.path.join(man_bin, "driftd.conf.5.scd")
generated = read(generated_path) if os.path.exists(generated_path) else ""
check(generated, f"{generated_path} was not generated")


def driftd_says(conf):
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
        f.write(conf)
        f.flush()
        r = run(prog["driftd"], "--no-bus", "--config", f.name)
    check(r.returncode == 1, f"driftd with [{conf!r}] exited {r.returncode}, not 1")
    return r.stderr


said = driftd_says("[no-such-section]\n")
m = re.search(r"known sections: (.*)", said)
check(m, f"driftd does not list its sections: {said}")
sections = set(re.findall(r"\[([a-z.A-Z]+)\]", m.group(1))) if m else set()
documented = set(re.findall(r"^# \[([a-z.A-Z]+)\]", page, re.M))
compare("driftd.conf.5", "sections", documented, sections)
for name in sorted(sections - {"stream.NAME"}):
    said = driftd_says(f"[{name}]\nno_such_key = 1\n")
    m = re.search(r"known keys: (.*)", said)
    check(m, f"driftd does not list the keys of [{name}]: {said}")
    keys = set(k.strip() for k in m.group(1).split(",")) if m else set()
    ents = {unescape(re.match(r"\*(.*?)\* =", k).group(1)): v
            for k, v in entries(section(page, f"[{name}]")).items() if re.match(r"\*.*?\* =", k)}
    compare("driftd.conf.5", f"[{name}] keys", set(ents), keys)
    heads = {unescape(re.match(r"\*(.*?)\* =", k).group(1)): k
             for k in entries(section(page, f"[{name}]")) if re.match(r"\*.*?\* =", k)}
    for key in sorted(keys & set(ents)):
        if "_N_" not in heads[key]:
            continue  # not a number: an address, a path, a boolean
        said = driftd_says(f"[{name}]\n{key} = x\n")
        m = re.search(r"allowed: (\d+\.\.\d+)", said)
        check(m, f"driftd does not give the range of [{name}] {key}: {said}")
        if m:
            check(m.group(1) in ents[key], f"driftd.conf.5: [{name}] {key}: the page does not say "
                  f"{m.group(1)}, the range driftd allows")
table = run(prog["driftctl"], "keys").stdout
rows = [[c.strip() for c in l.strip().strip("|").split(" | ")] for l in table.splitlines()[2:]]
check(len(rows) >= 15, f"driftctl keys: only {len(rows)} rows")
stream_part = section(generated, "[stream.NAME]")
job_part = section(generated, "RENDER SPECS")
for key, scope, typ, rng, default, change, meaning in rows:
    part = stream_part if "stream" in scope else job_part
    ents = {unescape(re.match(r"\*(.*?)\* =", k).group(1)): (k, v)
            for k, v in entries(part).items() if re.match(r"\*.*?\* =", k)}
    key = key.strip("`")
    check(key in ents, f"driftd.conf.5: {key} is not under {'[stream.NAME]' if 'stream' in scope else 'RENDER SPECS'}")
    if key in ents:
        text = unescape(" ".join(ents[key][1].split()))
        check(" ".join(rng.split()) in text, f"driftd.conf.5: {key}: range '{rng}' missing")

# Every page built, and groff has nothing to say about it.
for name in ("driftd.8", "driftctl.1", "drift-gen.1", "drift-bench.1", "driftd.conf.5"):
    path = os.path.join(man_bin, name)
    if not os.path.exists(path):
        check(False, f"{path} was not built")
        continue
    r = run("man", "--warnings", "-l", path, env=dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="0"))
    check(r.returncode == 0 and not r.stderr.strip(), f"man --warnings -l {path}: {r.stderr.strip()}")
    check(re.search(r"^\.TH \"?" + re.escape(name.rsplit(".", 1)[0]) + r"\"? \"?" + name.rsplit(".", 1)[1],
                    read(path), re.M | re.I), f"{path}: no .TH line for {name}")

if failures:
    print("\n".join("FAIL: " + f for f in failures))
    sys.exit(1)
print("man pages: every option, command, section and key matches the code")
