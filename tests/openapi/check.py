#!/usr/bin/python3
"""Check docs/openapi.json against the code and a running node.

  check.py --doc docs/openapi.json --src SRC --base http://127.0.0.1:PORT --token T

1. The document is OpenAPI 3.1 and every component schema is a valid JSON
   Schema 2020-12 (Debian's python3-jsonschema); every $ref resolves.
2. Routes: every path the server's router compares against (string literals
   in src/http/*.c, the web page's files) is in the document, and every path
   of the document is one the router knows.
3. Samples: the running node's responses of every JSON route, for every
   person it holds (views and timelines), every staff code (caseloads),
   several dates (releases due, figures), and its error responses, match the
   schemas the document gives for that route and status.
4. GET /v1/openapi.json serves the document byte for byte.

Exit status 0 when every check passes; each failure is printed.
"""
import argparse
import glob
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

import jsonschema

failures = []
checked = {"samples": 0}


def fail(msg):
    failures.append(msg)
    print("FAIL " + msg)


def ok(msg):
    print("ok   " + msg)


def get(base, token, path, method="GET", body=None, ctype=None):
    req = urllib.request.Request(base + path, method=method, data=body)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if ctype:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


ROLE_NAMES = {"0": "authenticated", "NS_UROLE_VIEW": "ROLE_NOMSYNC_VIEW", "NS_UROLE_RECORD": "ROLE_NOMSYNC_RECORD",
              "NS_UROLE_FIGURES": "ROLE_NOMSYNC_FIGURES", "NS_UROLE_AUDIT": "ROLE_NOMSYNC_AUDIT",
              "NS_UROLE_ADMIN": "ROLE_NOMSYNC_ADMIN"}


def source_routes(src):
    """The router's routes: path -> {method: role}.

    The authenticated routes and their roles come from the route table of
    src/http/authz.c; the public ones (health, sign-in, the web page's files)
    from the literals ns__dispatch compares the path with, and src/http/web/.
    """
    routes = {}
    table = open(os.path.join(src, "src/http/authz.c"), encoding="utf-8").read()
    for m in re.finditer(r'\{\s*NS__R_\w+,\s*HTTP_(\w+),\s*"(/[^"]*)",\s*"[^"]*",\s*(NS_UROLE_\w+|0)\s*,', table):
        routes.setdefault(m.group(2), {})[m.group(1).lower()] = ROLE_NAMES.get(m.group(3), m.group(3))
    for f in glob.glob(os.path.join(src, "src/http/*.c")):
        text = open(f, encoding="utf-8").read()
        for m in re.finditer(r'strcmp\(path, "(/[^"]*)"\)', text):
            routes.setdefault(m.group(1), {})
    for f in glob.glob(os.path.join(src, "src/http/web/*")):
        routes.setdefault("/" + os.path.basename(f), {})
    routes.setdefault("/v1/openapi.json", {})  # embedded from docs/ by gen_assets.cmake
    return routes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--doc", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--base", required=True)
    ap.add_argument("--token", required=True, help="a credential with every role")
    ap.add_argument("--norole-token", help="a JWT with no role: every role-guarded route must answer 403 naming it")
    ap.add_argument("--restricted", help="a person whose record is restricted against --reader-token's user")
    ap.add_argument("--reader-token", help="a JWT with ROLE_NOMSYNC_VIEW whose user may not read --restricted")
    a = ap.parse_args()

    raw = open(a.doc, "rb").read()
    doc = json.loads(raw)

    # 1. the document itself
    if doc.get("openapi", "").startswith("3.1"):
        ok("openapi " + doc["openapi"])
    else:
        fail("openapi version is %r, not 3.1.x" % doc.get("openapi"))
    V = jsonschema.Draft202012Validator
    resolver = jsonschema.RefResolver.from_schema(doc)
    for name, schema in doc["components"]["schemas"].items():
        try:
            V.check_schema(schema)
        except jsonschema.SchemaError as e:
            fail("components.schemas.%s is not a valid JSON Schema: %s" % (name, e.message))
    refs = set(re.findall(r'"\$ref": "([^"]+)"', json.dumps(doc)))
    for r in sorted(refs):
        try:
            resolver.resolve(r)
        except Exception as e:  # noqa: BLE001 -- any resolution failure is a finding
            fail("$ref %s does not resolve: %s" % (r, e))
    ok("%d component schemas valid, %d $refs resolve" % (len(doc["components"]["schemas"]), len(refs)))

    # 2. routes, methods and roles
    code = source_routes(a.src)
    code_routes, doc_routes = set(code), set(doc["paths"])
    for r in sorted(code_routes - doc_routes):
        fail("the server answers %s but the document does not describe it" % r)
    for r in sorted(doc_routes - code_routes):
        fail("the document describes %s but the router has no such route" % r)
    nroles = 0
    for r in sorted(code_routes & doc_routes):
        for method, role in code[r].items():
            op = doc["paths"][r].get(method)
            if op is None:
                fail("%s %s is routed but not documented" % (method.upper(), r))
            elif op.get("x-nomsync-role") != role:
                fail("%s %s needs %s, the document says %s" % (method.upper(), r, role, op.get("x-nomsync-role")))
            else:
                nroles += 1
    if code_routes == doc_routes:
        ok("the document's %d paths are exactly the router's; %d operations name the role the route table gives"
           % (len(doc_routes), nroles))

    def schema_for(path, method, status, ctype="application/json"):
        op = doc["paths"][path][method]
        r = op["responses"].get(str(status))
        if r is None:
            return None, "status %s is not documented for %s %s" % (status, method.upper(), path)
        if "$ref" in r:
            r = resolver.resolve(r["$ref"])[1]
        content = r.get("content", {})
        if ctype not in content:
            return None, "%s %s %s: content type %s not documented" % (method.upper(), path, status, ctype)
        return content[ctype]["schema"], None

    def check(path, url, method="get", body=None, ctype=None, want=None, token=None):
        status, rtype, data = get(a.base, token or a.token, url, method.upper(), body, ctype)
        if want is not None and status != want:
            fail("%s %s: status %d, wanted %d: %s" % (method.upper(), url, status, want, data[:200]))
            return None
        base_type = rtype.split(";")[0].strip()
        schema, err = schema_for(path, method, status, base_type)
        if err:
            fail("%s (%s)" % (err, url))
            return None
        if base_type != "application/json":
            return data
        try:
            value = json.loads(data)
        except ValueError:
            fail("%s %s: response is not JSON" % (method.upper(), url))
            return None
        v = V(schema, resolver=resolver)
        errs = sorted(v.iter_errors(value), key=lambda e: list(e.path))
        checked["samples"] += 1
        for e in errs[:3]:
            fail("%s %s (%d) does not match its schema at /%s: %s" % (
                method.upper(), url, status, "/".join(map(str, e.path)), e.message[:300]))
        return value

    # 3. samples from the live node
    # every person, through the lists of every region and prison the node knows
    refdata = check("/v1/refdata", "/v1/refdata", want=200) or {}
    people, seen = [], set()
    for key, codes in (("region", sorted(refdata.get("regions", {}))),
                       ("prison", sorted(refdata.get("prisons", {})))):
        for value in codes:
            offset, total = 0, 1
            while offset < total:
                lst = check("/v1/offenders", "/v1/offenders?%s=%s&limit=500&offset=%d" % (key, value, offset),
                            want=200)
                if not lst or not lst.get("items"):
                    break
                for i in lst["items"]:
                    p = i.get("noms") or i.get("crn") or i.get("offender")
                    if p and p not in seen:
                        seen.add(p)
                        people.append(p)
                offset, total = offset + len(lst["items"]), lst.get("total", 0)
    people = [p for p in people if p]
    staff = set()
    regions, prisons = set(), set()
    for p in people:
        view = check("/v1/offenders/{id}", "/v1/offenders/" + urllib.parse.quote(p), want=200)
        check("/v1/offenders/{id}/events", "/v1/offenders/%s/events" % urllib.parse.quote(p), want=200)
        if view:
            for m in ("pom", "com"):
                s = ((view.get("managers") or {}).get(m) or {}).get("staff")
                if s:
                    staff.add(s)
            if view.get("prison"):
                prisons.add(view["prison"])
            com = (view.get("managers") or {}).get("com") or {}
            if com.get("region"):
                regions.add(com["region"])
        crn = view.get("crn") if view else None
        if crn and crn != p:
            check("/v1/offenders/{id}", "/v1/offenders/" + crn, want=200)
    for r in sorted(regions):
        check("/v1/offenders", "/v1/offenders?region=%s&limit=7&offset=1" % r, want=200)
    for pr in sorted(prisons):
        check("/v1/offenders", "/v1/offenders?prison=%s" % pr, want=200)
    check("/v1/offenders", "/v1/offenders?q=SMITH", want=200)
    for s in sorted(staff):
        check("/v1/caseload", "/v1/caseload?staff=" + s, want=200)
    for d in ("2020-06-01", "2021-01-01", "2021-07-01", "2022-01-01", "2023-01-01"):
        for r in sorted(regions):
            check("/v1/releases", "/v1/releases?region=%s&days=365&as_of=%s" % (r, d), want=200)
            check("/v1/figures", "/v1/figures?region=%s&as_of=%s" % (r, d), want=200)
        for pr in sorted(prisons):
            check("/v1/releases", "/v1/releases?prison=%s&days=365&as_of=%s" % (pr, d), want=200)
    check("/v1/figures", "/v1/figures", want=200)
    for simple in ("/v1/status", "/v1/catalogue", "/v1/refdata", "/healthz"):
        check(simple, simple, want=200)
    for optional in ("/v1/whoami",):
        if optional in doc_routes and optional in code_routes:
            check(optional, optional, want=200)
    if "/v1/audit" in code_routes and people:
        check("/v1/audit", "/v1/audit?offender=" + people[0], want=200)
    check("/metrics", "/metrics", want=200)
    # error responses
    check("/v1/offenders/{id}", "/v1/offenders/A9999ZZ", want=404)
    check("/v1/caseload", "/v1/caseload", want=400)
    check("/v1/events", "/v1/events", "post", b'{"type":"alert.raised"}', "application/json", want=422)
    status, _, data = get(a.base, "", "/v1/status")
    if status != 401:
        fail("GET /v1/status without credentials: %d" % status)
    else:
        schema, err = schema_for("/v1/status", "get", 401)
        if err:
            fail(err)
        else:
            errs = list(V(schema, resolver=resolver).iter_errors(json.loads(data)))
            if errs:
                fail("401 body does not match Error: %s" % errs[0].message)
    ok("%d sample responses checked against their schemas (%d people, %d staff codes)" % (
        checked["samples"], len(people), len(staff)))

    # roles: a principal without any role is refused every guarded route, 403 naming the role
    if a.norole_token:
        n = 0
        for r in sorted(code_routes & doc_routes):
            for method, role in code[r].items():
                if role == "authenticated":
                    continue
                url = r.replace("{id}", people[0] if people else "A0000AA")
                body = b"[]" if method == "post" else None
                v = check(r, url, method, body, "application/json" if body else None, want=403, token=a.norole_token)
                if v is not None and v.get("role") != role:
                    fail("%s %s without a role: 403 names %r, not %s" % (method.upper(), url, v.get("role"), role))
                n += 1
        ok("%d role-guarded operations refuse a principal without the role (403, Error, the role named)" % n)
    # limited access: refused in full, masked in lists
    if a.restricted and a.reader_token:
        v = check("/v1/offenders/{id}", "/v1/offenders/" + a.restricted, want=403, token=a.reader_token)
        if v is not None and v.get("error") != "restricted_record":
            fail("restricted view: error %r" % v.get("error"))
        check("/v1/offenders/{id}/events", "/v1/offenders/%s/events" % a.restricted, want=403, token=a.reader_token)
        masked = 0
        for r in sorted(regions):
            lst = check("/v1/offenders", "/v1/offenders?region=%s&limit=500" % r, want=200, token=a.reader_token)
            masked += sum(1 for i in (lst or {}).get("items", []) if i.get("restricted") is True and "name" not in i)
        for s_ in sorted(staff):
            cl = check("/v1/caseload", "/v1/caseload?staff=" + s_, want=200, token=a.reader_token) or []
            masked += sum(1 for i in cl if i.get("flags") == ["RESTRICTED"])
        if masked:
            ok("a restricted record: 403 restricted_record to an unlisted reader, masked in %d list entries" % masked)
        else:
            fail("the restricted person is not shown masked in any list")

    # 4. the served document
    status, rtype, data = get(a.base, a.token, "/v1/openapi.json")
    if status == 200 and data == raw and rtype.startswith("application/json"):
        ok("GET /v1/openapi.json serves docs/openapi.json byte for byte")
    else:
        fail("GET /v1/openapi.json: status %d, %s, %d bytes (document: %d)" % (status, rtype, len(data), len(raw)))

    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
