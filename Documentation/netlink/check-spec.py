#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check the pcmig netlink spec against the uAPI header and the kernel code.

usage: check-spec.py [--netlink-c C | --no-code] [SPEC] [HEADER] [SCHEMA]

Positional paths may come in any order: a .h file is the header, the
kernel's schema (a YAML file with "$schema", or the directory holding
genetlink-c.yaml) enables schema validation, any other YAML file is the
spec.  --spec, --header and --schema name them explicitly.

Checks, in this order:

1. names and values: every #define and enum entry the ynl C generator would
   render from the spec (family name and version, constants, enums and
   flags, attribute sets, commands, multicast groups, the *_MAX defines) is
   in the header with the same value, and everything in the header is in
   the spec.  The only header entries the spec need not describe are count
   sentinels "__NAME" placed right after the last entry of an enum (for
   example __PCMIG_CAP_COUNT), which ynl cannot name.
2. the spec against itself: attributes named by operations, enums named by
   attributes, nests and multicast groups all exist.
3. unless --no-code: the per-op policies and flags of kmod/netlink.c:
   each command's do/dump handlers, admin permission, and the attributes
   its policy accepts equal the spec's (do and dump request attributes
   together, since the module has one policy per command).
4. with SCHEMA (the kernel's Documentation/netlink/genetlink-c.yaml, or the
   directory holding it): the spec validates against the JSON schema
   (needs python3-jsonschema).

Defaults are relative to this script: ../../Documentation/netlink/specs/
pcmig.yaml, ../../include/uapi/linux/pcmig.h, ../../kmod/netlink.c.
Exit status: 0 all checks pass, 1 a mismatch (each one printed), 2 usage or
environment error.
"""

import argparse
import os
import re
import sys

try:
    import yaml
except ImportError:
    print("check-spec: python3-yaml is needed", file=sys.stderr)
    sys.exit(2)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))

errors = []
notes = []


def err(msg):
    errors.append(msg)


def c_upper(name):
    return name.upper().replace("-", "_")


def c_lower(name):
    return name.lower().replace("-", "_")


# --------------------------------------------------------------------------
# Header parsing

def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


_INT_SUFFIX = re.compile(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]+\b")
_SAFE_EXPR = re.compile(r"^[0-9xXa-fA-F\s()+\-*/<>|&~]*$")


def c_eval(expr, names):
    """Value of a C integer constant expression, or None."""
    expr = _INT_SUFFIX.sub(r"\1", expr.strip())
    for _ in range(10):
        new = re.sub(r"\b[A-Za-z_]\w*\b",
                     lambda m: "(%d)" % names[m.group(0)]
                     if isinstance(names.get(m.group(0)), int)
                     else m.group(0), expr)
        if new == expr:
            break
        expr = new
    if re.search(r"[A-Za-z_]", re.sub(r"0[xX][0-9a-fA-F]+", "", expr)):
        return None
    if not _SAFE_EXPR.match(expr):
        return None
    expr = expr.replace("/", "//")
    try:
        return int(eval(expr, {"__builtins__": {}}, {}))  # checked above
    except Exception:  # pylint: disable=broad-except
        return None


def parse_header(path):
    with open(path, encoding="utf-8") as f:
        text = strip_comments(f.read().replace("\\\n", " "))
    names = {}          # every enum entry and define -> value (int/str)
    enums = []          # (enum name or None, [(entry, value)])
    raw_defines = []

    for m in re.finditer(r"enum\s+(\w+)?\s*\{(.*?)\}\s*;", text, re.S):
        entries = []
        val = -1
        for item in m.group(2).split(","):
            item = item.strip()
            if not item:
                continue
            em = re.match(r"^(\w+)\s*(?:=\s*(.+))?$", item, re.S)
            if not em:
                err("header: cannot parse enum entry '%s'" % item)
                continue
            if em.group(2) is not None:
                v = c_eval(em.group(2), names)
                if v is None:
                    err("header: cannot evaluate %s = %s"
                        % (em.group(1), em.group(2)))
                    v = val + 1
                val = v
            else:
                val += 1
            entries.append((em.group(1), val))
            names[em.group(1)] = val
        enums.append((m.group(1), entries))

    for m in re.finditer(r"^[ \t]*#[ \t]*define[ \t]+(\w+)[ \t]*(.*)$",
                         text, re.M):
        raw_defines.append((m.group(1), m.group(2).strip()))

    defines = {}
    pending = list(raw_defines)
    for _ in range(len(pending) + 1):
        left = []
        for name, body in pending:
            sm = re.match(r'^"(.*)"$', body)
            if sm:
                defines[name] = sm.group(1)
            elif body == "":
                defines[name] = ""
            else:
                v = c_eval(body, {**names, **defines})
                if v is None:
                    left.append((name, body))
                    continue
                defines[name] = v
            names[name] = defines[name]
        if len(left) == len(pending):
            break
        pending = left
    for name, body in pending:
        err("header: cannot evaluate #define %s %s" % (name, body))
        defines[name] = body
    return enums, defines


# --------------------------------------------------------------------------
# What the ynl C generator renders from the spec

def spec_expectations(spec):
    """Return (defines {name: value}, enums [(enum name, [(e, v)]), ...])."""
    fam = spec["name"]
    defines = {}
    enums = []
    max_by_define = spec.get("max-by-define", False)

    defines[c_upper(spec.get("c-family-name", fam + "-family-name"))] = fam
    # The genetlink-c schema has no version property: ynl renders 1.
    defines[c_upper(spec.get("c-version-name", fam + "-family-version"))] = \
        spec.get("version", 1)

    for d in spec.get("definitions", []):
        if d.get("header"):
            continue
        if d["type"] == "const":
            defines[c_upper(d.get("c-define-name",
                                  "%s-%s" % (fam, d["name"])))] = d["value"]
            continue
        pfx = d.get("name-prefix", "%s-%s-" % (fam, d["name"]))
        if "enum-name" in d:
            ename = c_lower(d["enum-name"]) if d["enum-name"] else None
        else:
            ename = c_lower("%s-%s" % (fam, d["name"]))
        val = d.get("value-start", 0)
        entries = []
        for e in d.get("entries", []):
            if isinstance(e, dict):
                name = e["name"]
                if "value" in e:
                    val = e["value"]
            else:
                name = e
            cval = 1 << val if d["type"] == "flags" else val
            entries.append((c_upper(pfx + name), cval))
            val += 1
        if d.get("render-max"):
            if d["type"] == "flags":
                mask = 0
                for _, v in entries:
                    mask |= v
                entries.append((c_upper(pfx + "mask"), mask))
            else:
                cnt = (entries[-1][1] + 1) if entries else 0
                entries.append(("__" + c_upper(pfx + "max"), cnt))
                entries.append((c_upper(pfx + "max"), cnt - 1))
        enums.append((ename, entries, "definition '%s'" % d["name"]))

    for s in spec.get("attribute-sets", []):
        if s.get("subset-of"):
            continue
        if s["name"] == fam:
            dpfx = fam + "-a-"
        else:
            dpfx = "%s-a-%s-" % (fam, s["name"])
        pfx = s.get("name-prefix", dpfx)
        ename = c_lower(s["enum-name"]) if s.get("enum-name") else None
        val = 1
        entries = []
        for a in s["attributes"]:
            if "value" in a:
                val = a["value"]
            entries.append((c_upper(a.get("name-prefix", pfx) + a["name"]),
                            val))
            val += 1
        cnt_name = c_upper(s.get("attr-cnt-name", "__" + pfx + "max"))
        max_name = c_upper(s.get("attr-max-name", pfx + "max"))
        entries.append((cnt_name, val))
        if max_by_define:
            defines[max_name] = val - 1
        else:
            entries.append((max_name, val - 1))
        enums.append((ename, entries, "attribute set '%s'" % s["name"]))

    ops = spec["operations"]
    opfx = ops.get("name-prefix", fam + "-cmd-")
    ename = c_lower(ops["enum-name"]) if ops.get("enum-name") else None
    val = 1
    entries = []
    for op in ops["list"]:
        if "value" in op:
            val = op["value"]
        entries.append((c_upper(opfx + op["name"]), val))
        val += 1
    cnt_name = c_upper(spec.get("cmd-cnt-name", "__" + opfx + "max"))
    max_name = c_upper(spec.get("cmd-max-name", opfx + "max"))
    entries.append((cnt_name, val))
    if max_by_define:
        defines[max_name] = val - 1
    else:
        entries.append((max_name, val - 1))
    enums.append((ename, entries, "operations"))

    for g in spec.get("mcast-groups", {}).get("list", []):
        defines[c_upper(g.get("c-define-name",
                              "%s-mcgrp-%s" % (fam, g["name"])))] = g["name"]
    return defines, enums


def check_header(spec, header_path):
    h_enums, h_defines = parse_header(header_path)
    s_defines, s_enums = spec_expectations(spec)

    for name, want in s_defines.items():
        if name not in h_defines:
            err("header: missing #define %s (spec: %r)" % (name, want))
        elif h_defines[name] != want:
            err("header: #define %s is %r, spec says %r"
                % (name, h_defines[name], want))
    guard = re.compile(r"^_(UAPI_)?LINUX_\w+_H$")
    for name, val in h_defines.items():
        if name not in s_defines and not guard.match(name):
            err("spec: header #define %s (%r) is not in the spec"
                % (name, val))

    used = set()
    for ename, entries, what in s_enums:
        idx = None
        for i, (hname, hentries) in enumerate(h_enums):
            if i in used:
                continue
            if ename is not None and hname == ename:
                idx = i
                break
            if ename is None and hname is None and entries and \
                    entries[0][0] in dict(hentries):
                idx = i
                break
        if idx is None:
            err("header: no enum %s for the spec's %s"
                % (ename or "(anonymous)", what))
            continue
        used.add(idx)
        hname, hentries = h_enums[idx]
        hmap = dict(hentries)
        smap = dict(entries)
        for n, v in entries:
            if n not in hmap:
                err("header: enum %s lacks %s (spec: %d)"
                    % (hname or "(anonymous)", n, v))
            elif hmap[n] != v:
                err("header: %s is %d, spec says %d" % (n, hmap[n], v))
        last = max(smap.values()) if smap else -1
        for n, v in hentries:
            if n in smap:
                continue
            if n.startswith("__") and v == last + 1 and \
                    not any(x[0].startswith("__") for x in entries):
                notes.append("header-only count sentinel %s = %d in enum %s"
                             % (n, v, hname))
                continue
            err("spec: header enum %s entry %s (%d) is not in the spec's %s"
                % (hname or "(anonymous)", n, v, what))
        hn = [n for n, _ in hentries if n in smap]
        sn = [n for n, _ in entries if n in hmap]
        if hn != sn:
            err("header: enum %s lists its entries in another order than "
                "the spec" % hname)
    for i, (hname, hentries) in enumerate(h_enums):
        if i not in used:
            err("spec: header enum %s (%s...) is not in the spec"
                % (hname or "(anonymous)",
                   hentries[0][0] if hentries else "empty"))


# --------------------------------------------------------------------------
# The spec against itself

def check_self(spec):
    consts = {d["name"]: d for d in spec.get("definitions", [])}
    sets = {s["name"]: s for s in spec.get("attribute-sets", [])}
    groups = {g["name"] for g in spec.get("mcast-groups", {}).get("list", [])}
    for s in sets.values():
        for a in s["attributes"]:
            if "enum" in a and a["enum"] not in consts:
                err("spec: attribute %s names unknown enum %s"
                    % (a["name"], a["enum"]))
            if "nested-attributes" in a and \
                    a["nested-attributes"] not in sets:
                err("spec: attribute %s nests unknown set %s"
                    % (a["name"], a["nested-attributes"]))
            for k in ("flags-mask", "min", "max", "max-len", "min-len"):
                v = a.get("checks", {}).get(k)
                if isinstance(v, str) and not re.match(
                        r"^[us](8|16|32|64)-(min|max)$", v) and \
                        v not in consts:
                    err("spec: attribute %s check %s names unknown %s"
                        % (a["name"], k, v))
    for op in spec["operations"]["list"]:
        aset = sets.get(op.get("attribute-set"))
        if op.get("attribute-set") and aset is None:
            err("spec: op %s uses unknown attribute set %s"
                % (op["name"], op["attribute-set"]))
            continue
        names = {a["name"] for a in aset["attributes"]} if aset else set()
        lists = []
        for kind in ("do", "dump"):
            for part in ("request", "reply"):
                lists.append(op.get(kind, {}).get(part, {})
                             .get("attributes", []))
        lists.append(op.get("event", {}).get("attributes", []))
        for lst in lists:
            for n in lst:
                if n not in names:
                    err("spec: op %s names unknown attribute %s"
                        % (op["name"], n))
        if "mcgrp" in op and op["mcgrp"] not in groups:
            err("spec: op %s uses unknown multicast group %s"
                % (op["name"], op["mcgrp"]))


# --------------------------------------------------------------------------
# The kernel's per-op policies (kmod/netlink.c)

def check_code(spec, path):
    with open(path, encoding="utf-8") as f:
        text = strip_comments(f.read())
    joined = text.replace("\\\n", " ")

    macros = {}
    for m in re.finditer(r"^[ \t]*#[ \t]*define[ \t]+(\w+)[ \t]*(.*)$",
                         joined, re.M):
        macros[m.group(1)] = m.group(2)

    def attrs_in(body, depth=0):
        found = set(re.findall(r"\[\s*(\w+)\s*\]\s*=", body))
        if depth < 5:
            for ident in re.findall(r"\b([A-Z_][A-Z0-9_]*)\b", body):
                if ident in macros and "[" in macros[ident]:
                    found |= attrs_in(macros[ident], depth + 1)
        return found

    policies = {}
    for m in re.finditer(r"struct\s+nla_policy\s+(\w+)\s*\[[^\]]*\]\s*=\s*"
                         r"\{(.*?)\n\}\s*;", joined, re.S):
        policies[m.group(1)] = attrs_in(m.group(2))

    om = re.search(r"struct\s+genl_ops\s+\w+\s*\[\s*\]\s*=\s*\{(.*?)\n\}\s*;",
                   joined, re.S)
    if not om:
        err("code: no genl_ops table found in %s" % path)
        return
    code_ops = {}
    for blk in re.findall(r"\{([^{}]*)\}", om.group(1)):
        fields = dict(re.findall(r"\.(\w+)\s*=\s*([^,]+)", blk))
        cmd = fields.get("cmd", "").strip()
        if not cmd:
            continue
        flags = fields.get("flags", "").strip()
        flags = macros.get(flags, flags)
        pol = fields.get("policy", "").strip()
        if pol and pol not in policies:
            err("code: op %s uses policy %s, not found" % (cmd, pol))
        code_ops[cmd] = {
            "do": "doit" in fields,
            "dump": "dumpit" in fields,
            "admin": "ADMIN_PERM" in flags,
            "attrs": policies.get(pol, set()) if pol else set(),
        }

    fam = spec["name"]
    ops = spec["operations"]
    opfx = ops.get("name-prefix", fam + "-cmd-")
    aset_pfx = {}
    for s in spec.get("attribute-sets", []):
        dpfx = fam + "-a-" if s["name"] == fam else \
            "%s-a-%s-" % (fam, s["name"])
        aset_pfx[s["name"]] = s.get("name-prefix", dpfx)

    seen = set()
    for op in ops["list"]:
        cname = c_upper(opfx + op["name"])
        has_do, has_dump = "do" in op, "dump" in op
        if not has_do and not has_dump:
            if cname in code_ops:
                err("code: %s has handlers but the spec gives it no do/dump"
                    % cname)
            continue
        seen.add(cname)
        co = code_ops.get(cname)
        if co is None:
            err("code: %s (spec op %s) is not in the genl_ops table"
                % (cname, op["name"]))
            continue
        if co["do"] != has_do:
            err("code: %s doit %s, spec do %s" % (
                cname, "present" if co["do"] else "absent",
                "present" if has_do else "absent"))
        if co["dump"] != has_dump:
            err("code: %s dumpit %s, spec dump %s" % (
                cname, "present" if co["dump"] else "absent",
                "present" if has_dump else "absent"))
        spec_admin = "admin-perm" in op.get("flags", [])
        if co["admin"] != spec_admin:
            err("code: %s admin permission %s, spec %s" % (
                cname, co["admin"], spec_admin))
        pfx = aset_pfx.get(op.get("attribute-set"), "")
        want = set()
        for kind in ("do", "dump"):
            for a in op.get(kind, {}).get("request", {}).get("attributes",
                                                               []):
                want.add(c_upper(pfx + a))
        for a in sorted(co["attrs"] - want):
            err("code: %s policy accepts %s, not in the spec's request"
                % (cname, a))
        for a in sorted(want - co["attrs"]):
            err("code: spec request of %s has %s, its policy does not"
                % (cname, a))
    for cname in sorted(set(code_ops) - seen):
        err("code: %s is in the genl_ops table but not a spec do/dump op"
            % cname)


# --------------------------------------------------------------------------

def check_schema(spec, schema_arg):
    try:
        import jsonschema  # pylint: disable=import-outside-toplevel
    except ImportError:
        print("check-spec: schema validation needs python3-jsonschema",
              file=sys.stderr)
        sys.exit(2)
    path = schema_arg
    if os.path.isdir(path):
        path = os.path.join(path, spec.get("protocol", "genetlink") + ".yaml")
    with open(path, encoding="utf-8") as f:
        schema = yaml.safe_load(f)
    validator = jsonschema.Draft7Validator(schema)
    for e in sorted(validator.iter_errors(spec), key=lambda e: list(e.path)):
        err("schema: %s: %s" % ("/".join(str(p) for p in e.path) or "(top)",
                                e.message))
    return path


def classify(path):
    """Which of spec, header, schema a positional path is."""
    if os.path.isdir(path):
        return "schema"
    if path.endswith(".h"):
        return "header"
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except (OSError, yaml.YAMLError):
        return "spec"   # reported when loading it
    if isinstance(doc, dict) and ("$schema" in doc or "$id" in doc):
        return "schema"
    return "spec"


def main():
    ap = argparse.ArgumentParser(
        description="Check the pcmig netlink spec against the uAPI header, "
                    "the kernel's policies and (optionally) the ynl schema.")
    ap.add_argument("--spec", default=None,
                    help="the spec (default: Documentation/netlink/specs/"
                         "pcmig.yaml)")
    ap.add_argument("--header", default=None,
                    help="uAPI header (default: include/uapi/ + the spec's "
                         "uapi-header)")
    ap.add_argument("--schema", default=None,
                    help="genetlink-c.yaml (or its directory) to validate "
                         "the spec against")
    ap.add_argument("--netlink-c", default=os.path.join(ROOT,
                                                        "kmod/netlink.c"))
    ap.add_argument("--no-code", action="store_true",
                    help="do not check kmod/netlink.c")
    ap.add_argument("paths", nargs="*", metavar="PATH",
                    help="spec, header and/or schema, told apart by kind")
    args = ap.parse_args()
    for path in args.paths:
        kind = classify(path)
        if getattr(args, kind) is not None:
            ap.error("two %s paths given: %s, %s"
                     % (kind, getattr(args, kind), path))
        setattr(args, kind, path)
    if args.spec is None:
        args.spec = os.path.join(ROOT,
                                 "Documentation/netlink/specs/pcmig.yaml")

    try:
        with open(args.spec, encoding="utf-8") as f:
            spec = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        print("check-spec: cannot load %s: %s" % (args.spec, e),
              file=sys.stderr)
        return 2
    header = args.header or os.path.join(
        ROOT, "include/uapi", spec.get("uapi-header",
                                       "linux/%s.h" % spec["name"]))
    if not os.path.isfile(header):
        print("check-spec: header %s not found" % header, file=sys.stderr)
        return 2

    done = []
    if args.schema:
        done.append("schema %s" % check_schema(spec, args.schema))
    check_self(spec)
    check_header(spec, header)
    done.append("header %s" % os.path.relpath(header))
    if not args.no_code:
        if not os.path.isfile(args.netlink_c):
            print("check-spec: %s not found (use --no-code to skip)"
                  % args.netlink_c, file=sys.stderr)
            return 2
        check_code(spec, args.netlink_c)
        done.append("policies %s" % os.path.relpath(args.netlink_c))

    for n in notes:
        print("check-spec: note: %s" % n)
    for e in errors:
        print("check-spec: MISMATCH: %s" % e)
    if errors:
        print("check-spec: %d mismatch(es) between %s and %s"
              % (len(errors), os.path.relpath(args.spec), ", ".join(done)))
        return 1
    print("check-spec: ok: %s matches %s" % (os.path.relpath(args.spec),
                                            ", ".join(done)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
