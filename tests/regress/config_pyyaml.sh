#!/bin/sh
# Differential test: config.yaml as hermes-c reads it against PyYAML's
# safe_load (what Hermes itself uses), on scalars of every YAML 1.1 kind
# and on whole documents (the fixtures, the documented example, anchors,
# merges, block scalars). Skipped without python3-yaml.
#
# Known and intended differences: integers beyond 64 bits (JSON numbers
# here), .inf/.nan and dates (strings here: JSON has neither), non-string
# keys (text here), and values PyYAML crashes on (0x_: a string here).
. "$(dirname "$0")/lib.sh"

DUMP=$BIN/tests/test_config
[ -x "$DUMP" ] || h_skip "no $DUMP"
command -v python3 >/dev/null 2>&1 || h_skip "no python3"
python3 -c 'import yaml' 2>/dev/null || h_skip "no python3-yaml"
h_setup

python3 - "$DUMP" "$T" "$TOP" <<'EOF' || h_fail "hermes-c and PyYAML disagree"
import datetime, glob, json, math, subprocess, sys
import yaml

dump, tmp, top = sys.argv[1:4]

def py_norm(o):
    if isinstance(o, dict):
        return {str(k): py_norm(v) for k, v in o.items()}
    if isinstance(o, list):
        return [py_norm(v) for v in o]
    if isinstance(o, float) and (math.isinf(o) or math.isnan(o)):
        return "<inf/nan>"
    if isinstance(o, (datetime.date, datetime.datetime)):
        return "<date>"
    return o

def c_norm(o, raw=None):
    if isinstance(o, dict):
        return {k: c_norm(v) for k, v in o.items()}
    if isinstance(o, list):
        return [c_norm(v) for v in o]
    if isinstance(o, str) and o.lower().lstrip("+-") in (".inf", ".nan"):
        return "<inf/nan>"
    return o

def ours(path):
    out = subprocess.run([dump, "--dump", path], capture_output=True,
                         text=True).stdout.strip()
    if out.startswith("ERR"):
        return "ERR"
    return c_norm(json.loads(out))

def theirs(path):
    try:
        with open(path) as f:
            return py_norm(yaml.safe_load(f))
    except Exception:
        return "ERR"

def same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return a == b or abs(a - b) <= abs(a) * 1e-15
    if type(a) != type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same, a, b))
    return a == b

scalars = """yes Yes YES no No NO on On ON off Off OFF true True TRUE
false False FALSE y n ~ null Null NULL NuLL 0 00 -0 +0 007 08 0o7 0x1F 0X1F
0b101 0b2 1_000 _1 1__0 -17 +5 1e3 1E3 1.0e+3 1.0e3 1.5 .5 -.5 +.5 5. 1_0.5
.inf -.inf +.inf .Inf .NaN .nan .NAN 1:30 -1:00:01 190:20:30 1:30.5 1:60 0:30
2001-12-14 2001-12-14t21:59:43.10-05:00 0.1 9223372036854775807
-9223372036854775808 0_ . + e E .e 1.e+3 1_ 12e+03 'yes' "0755" !!str 1
!!int "7" !!float 3 !!bool 'no' !!null x"""
cases = scalars.split()
# A tag and its value are one case.
joined, skip = [], False
for i, c in enumerate(cases):
    if skip:
        skip = False
        continue
    if c.startswith("!!") and i + 1 < len(cases):
        joined.append(c + " " + cases[i + 1])
        skip = True
    else:
        joined.append(c)

docs = []
for i, c in enumerate(joined):
    p = f"{tmp}/scalar{i}.yaml"
    with open(p, "w") as f:
        f.write(f"v: {c}\n")
    docs.append(p)
extra = [
    "a: 'it''s'\nb: \"\\t\\x41\\u263a\"\nc: |+\n  keep\n\nd: >-\n  fold\n"
    "  ed\ne: plain\n  multi line\n",
    "base: &b {x: 1, y: 2}\nover:\n  <<: *b\n  y: 3\nl:\n  <<: [{p: 1}, "
    "{p: 2, q: 2}]\n",
    "a: !!str 2001-12-14\nb: !!float 3\nd: [1, [2, [3]], {e: f}]\n"
    "dup: 1\ndup: 2\n",
    "k: &k name\nm: {*k : 1}\nseq:\n- a\n- - b\n  - c\n- {d: e}\n",
]
for i, d in enumerate(extra):
    p = f"{tmp}/doc{i}.yaml"
    with open(p, "w") as f:
        f.write(d)
    docs.append(p)
docs += sorted(glob.glob(f"{top}/tests/fixtures/config/*.yaml"))
docs.append(f"{top}/etc/config.yaml.example")
docs += sorted(glob.glob(f"{top}/tests/fuzz/corpus/fuzz_config_yaml/*.yaml"))

# Known differences, by the value PyYAML gives.
def known(py, c):
    if isinstance(py, dict) and "v" in py:
        v = py["v"]
        if isinstance(v, int) and not isinstance(v, bool) and \
           not -2**63 <= v < 2**63:
            return True
        if v in ("<date>",) and c != "ERR":
            return c.get("v") is not None if isinstance(c, dict) else False
    if py == "ERR" and c != "ERR":
        return True     # PyYAML raised; we keep a string
    return False

bad = 0
for p in docs:
    py, c = theirs(p), ours(p)
    if py == "ERR" and c == "ERR":
        continue
    if isinstance(py, dict) and isinstance(c, dict) and "v" in py and \
       py["v"] == "<date>" and isinstance(c.get("v"), str):
        continue
    if same(py, c) or known(py, c):
        continue
    bad += 1
    print("differ:", p, open(p).read().strip()[:80], file=sys.stderr)
    print("  PyYAML  :", json.dumps(py, sort_keys=True)[:300], file=sys.stderr)
    print("  hermes-c:", json.dumps(c, sort_keys=True)[:300], file=sys.stderr)
print(f"{len(docs)} documents compared, {bad} differences")
sys.exit(1 if bad else 0)
EOF
echo "PASS config_pyyaml"
exit 0
