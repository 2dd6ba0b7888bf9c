#!/usr/bin/env python3
"""Headless-browser test of the caseworker web page served by nomsyncd.

Drives Debian's chromedriver over the W3C WebDriver HTTP protocol (Python 3
standard library only): signs in through the login page, searches for an
offender by surname, opens the record and compares what the page shows with
the API's view (names and event labels as /v1/refdata and /v1/catalogue
give them), opens a record with a conflict and checks the red conflict
panel and the highlighted timeline events (and a PLAN_CONCURRENT_UPDATE in the
sentence plan), checks the record's sentence plan, risk badges and new release
dates, a community sentence's requirement progress bars and compliance, the
pages My caseload, Releases due and Regional figures (each against
/v1/caseload, /v1/releases and /v1/figures), and opens the node status page.
Screenshots of the offender page, the conflict, my caseload, the figures and
the status page are saved.

Accessibility (WCAG 2.2 AA): axe-core (tests/web/node_modules, from npm at the
version pinned in tests/web/package.json; deploy/deps.sh installs it) runs its
wcag2a/2aa/21a/21aa/22aa rules on every page visited and any violation fails;
the keyboard is checked (skip link, focus on each new page's h1, the status
page's pause control), pages reflow at 320 CSS px, and a wrong token is
reported as an error on the login page. With --jwt it finally signs in with a
JWT of a user with ROLE_NOMSYNC_VIEW only: the header names the user and
roles, and the pages that need other roles are hidden and refused.

    browser_test.py --base http://127.0.0.1:PORT --token TOKEN \
        --screenshot-dir DIR --noms A0001AB --conflict-noms A0000AA

Over TLS (--base https://...), --cacert is the CA the test's own API
requests trust and --spki pins the server key for Chromium, which trusts no
test CA.

Prints "ok ..." / "FAIL ..." per check and "N passed, M failed" at the end;
exits non-zero if anything failed.
"""
import argparse
import base64
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

ELEMENT_KEY = 'element-6066-11e4-a52e-4f735466cecf'
# The TLS context of API requests to an https --base: set from --cacert.
TLS_CONTEXT = None
WAIT_SECONDS = 10.0
CONFLICT_RULE = 'RECEIVED_WHILE_IN_CUSTODY'
DATE_KEYS = ('crd', 'sled', 'ard', 'sed', 'tused')
# The WCAG 2.2 A and AA rules of axe-core (npm, pinned in tests/web/package.json).
AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']
AXE_JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'node_modules', 'axe-core', 'axe.min.js')
TAB, ENTER, SHIFT = '\ue004', '\ue007', '\ue008'


class Fatal(Exception):
    """A step failed such that later steps cannot run."""


class WebDriverError(Exception):
    pass


# ---- results ------------------------------------------------------------------

class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self, what):
        self.passed += 1
        print('ok   ' + what, flush=True)

    def bad(self, what, detail=''):
        self.failed += 1
        print('FAIL ' + what + (': ' + detail if detail else ''), flush=True)

    def check(self, cond, what, detail=''):
        if cond:
            self.ok(what)
        else:
            self.bad(what, detail)
        return cond

    def eq(self, got, want, what):
        return self.check(got == want, what, 'got %r, wanted %r' % (got, want))


# ---- HTTP helpers ---------------------------------------------------------------

def http_json(method, url, body=None, headers=None, timeout=30):
    """Send a request; return (status, parsed JSON or None, raw bytes)."""
    data = None
    hdrs = {'Accept': 'application/json'}
    hdrs.update(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        hdrs['Content-Type'] = 'application/json'
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout,
                                    context=TLS_CONTEXT if url.startswith('https:') else None) as res:
            raw = res.read()
            status = res.status
    except urllib.error.HTTPError as e:
        raw = e.read()
        status = e.code
    try:
        parsed = json.loads(raw.decode('utf-8')) if raw else None
    except ValueError:
        parsed = None
    return status, parsed, raw


class Api:
    """The node's JSON API with the bearer token."""

    def __init__(self, base, token):
        self.base = base.rstrip('/')
        self.token = token

    def get(self, path):
        status, body, raw = http_json('GET', self.base + path, headers={'Authorization': 'Bearer ' + self.token})
        if status != 200 or body is None:
            raise Fatal('GET %s: HTTP %d %s' % (path, status, raw[:200]))
        return body


# ---- a minimal W3C WebDriver client ---------------------------------------------

def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Driver:
    def __init__(self, chromedriver, log_path):
        self.port = free_port()
        self.url = 'http://127.0.0.1:%d' % self.port
        self.profile = tempfile.mkdtemp(prefix='nomsync-chromium.')
        self.log = open(log_path, 'wb')
        self.proc = subprocess.Popen([chromedriver, '--port=%d' % self.port],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.session = None

    def start(self, chromium, spki=None):
        """Wait for chromedriver, then open a headless Chromium session (trusting the key @spki pins)."""
        deadline = time.time() + 20
        while True:
            try:
                status, body, _ = http_json('GET', self.url + '/status', timeout=2)
                if status == 200 and body and body.get('value', {}).get('ready'):
                    break
            except (OSError, urllib.error.URLError):
                pass
            if self.proc.poll() is not None:
                raise Fatal('chromedriver exited with status %s' % self.proc.returncode)
            if time.time() > deadline:
                raise Fatal('chromedriver did not become ready on port %d' % self.port)
            time.sleep(0.1)
        caps = {
            'capabilities': {
                'alwaysMatch': {
                    'browserName': 'chrome',
                    'pageLoadStrategy': 'normal',
                    'goog:loggingPrefs': {'browser': 'ALL'},
                    'goog:chromeOptions': {
                        'binary': chromium,
                        'args': [
                            '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                            '--disable-quic', '--no-first-run', '--disable-background-networking',
                            '--disable-component-update', '--disable-sync',
                            '--user-data-dir=' + self.profile, '--window-size=1400,1000',
                        ] + (['--ignore-certificate-errors-spki-list=' + spki] if spki else []),
                    },
                }
            }
        }
        value = self.cmd('POST', '/session', caps, session=False, timeout=60)
        self.session = value['sessionId']

    def cmd(self, method, path, body=None, session=True, timeout=30):
        url = self.url + ('/session/' + self.session if session else '') + path
        if method == 'POST' and body is None:
            body = {}
        status, parsed, raw = http_json(method, url, body, timeout=timeout)
        if parsed is None:
            raise WebDriverError('%s %s: HTTP %d %r' % (method, path, status, raw[:200]))
        value = parsed.get('value')
        if status != 200:
            msg = value.get('message', '') if isinstance(value, dict) else str(value)
            err = value.get('error', '') if isinstance(value, dict) else ''
            raise WebDriverError('%s %s: %s %s' % (method, path, err, msg.splitlines()[0] if msg else ''))
        return value

    # navigation and scripts
    def get(self, url):
        self.cmd('POST', '/url', {'url': url}, timeout=60)

    def current_url(self):
        return self.cmd('GET', '/url')

    def title(self):
        return self.cmd('GET', '/title')

    def script(self, source, *args):
        return self.cmd('POST', '/execute/sync', {'script': source, 'args': list(args)})

    def async_script(self, source, *args, timeout=60):
        """Run source with a callback as its last argument; return what it is called with."""
        self.cmd('POST', '/timeouts', {'script': int(timeout * 1000)})
        return self.cmd('POST', '/execute/async', {'script': source, 'args': list(args)}, timeout=timeout + 10)

    def keys(self, el, text):
        """Send keys to an element (e.g. '\\ue004' for Tab, '\\ue007' for Enter)."""
        self.cmd('POST', '/element/%s/value' % el, {'text': text})

    def active(self):
        return self.cmd('GET', '/element/active')[ELEMENT_KEY]

    def viewport(self, width=None, height=800):
        """Emulate a viewport width CSS px wide (Chrome DevTools protocol); None restores the window's."""
        if width is None:
            self.cmd('POST', '/goog/cdp/execute', {'cmd': 'Emulation.clearDeviceMetricsOverride', 'params': {}})
        else:
            self.cmd('POST', '/goog/cdp/execute', {'cmd': 'Emulation.setDeviceMetricsOverride', 'params': {
                'width': width, 'height': height, 'deviceScaleFactor': 1, 'mobile': False}})

    # elements
    def find_all(self, css, root=None):
        path = ('/element/%s/elements' % root) if root else '/elements'
        return [e[ELEMENT_KEY] for e in self.cmd('POST', path, {'using': 'css selector', 'value': css})]

    def find(self, css):
        found = self.find_all(css)
        return found[0] if found else None

    def wait(self, css, timeout=WAIT_SECONDS, visible=True):
        """Poll until an element matching css exists (and is displayed); return it."""
        deadline = time.time() + timeout
        last = None
        while True:
            try:
                for el in self.find_all(css):
                    if not visible or self.displayed(el):
                        return el
            except WebDriverError as e:  # a stale element while the page re-renders
                last = e
            if time.time() > deadline:
                raise Fatal('no %selement %s after %.0f s%s' % ('visible ' if visible else '', css, timeout,
                                                              ' (%s)' % last if last else ''))
            time.sleep(0.1)

    def wait_until(self, fn, what, timeout=WAIT_SECONDS):
        deadline = time.time() + timeout
        last = None
        while True:
            try:
                value = fn()
                if value:
                    return value
            except WebDriverError as e:
                last = e
            if time.time() > deadline:
                raise Fatal('timed out waiting for %s%s' % (what, ' (%s)' % last if last else ''))
            time.sleep(0.1)

    def text(self, el):
        return self.cmd('GET', '/element/%s/text' % el)

    def attr(self, el, name):
        return self.cmd('GET', '/element/%s/attribute/%s' % (el, name))

    def displayed(self, el):
        return bool(self.cmd('GET', '/element/%s/displayed' % el))

    def click(self, el):
        self.cmd('POST', '/element/%s/click' % el)

    def type(self, el, text):
        self.cmd('POST', '/element/%s/clear' % el)
        self.cmd('POST', '/element/%s/value' % el, {'text': text})

    def scroll_to(self, el):
        self.script('arguments[0].scrollIntoView({block: "start"}); window.scrollBy(0, -20);', {ELEMENT_KEY: el})

    def screenshot(self, path):
        png = base64.b64decode(self.cmd('GET', '/screenshot'))
        with open(path, 'wb') as f:
            f.write(png)
        return len(png)

    def browser_log(self):
        try:
            return self.cmd('POST', '/se/log', {'type': 'browser'})
        except WebDriverError:
            return []

    def quit(self):
        try:
            if self.session:
                self.cmd('DELETE', '', timeout=20)
        except Exception as e:  # noqa: BLE001 - quitting must not hide the result
            print('note: deleting the WebDriver session failed: %s' % e, file=sys.stderr)
        finally:
            self.session = None
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.log.close()
            shutil.rmtree(self.profile, ignore_errors=True)


# ---- the test ----------------------------------------------------------------------

def person_name(name):
    if not name:
        return ''
    s, f = name.get('surname') or '', name.get('forenames') or ''
    return s + ', ' + f if s and f else s or f


def run(args, r):
    base = args.base.rstrip('/')
    api = Api(base, args.token)
    os.makedirs(args.screenshot_dir, exist_ok=True)
    shot = lambda name: os.path.join(args.screenshot_dir, name)  # noqa: E731

    view = api.get('/v1/offenders/' + urllib.parse.quote(args.noms))
    events = api.get('/v1/offenders/' + urllib.parse.quote(args.noms) + '/events')
    conflict_view = api.get('/v1/offenders/' + urllib.parse.quote(args.conflict_noms))
    status = api.get('/v1/status')
    # Display names: the page fetches these itself and keeps no copy.
    labels = {t['name']: t['label'] for t in api.get('/v1/catalogue').get('types', [])}
    refdata = api.get('/v1/refdata')
    surname = (view.get('name') or {}).get('surname')
    if not surname:
        raise Fatal('%s has no surname in the API view' % args.noms)

    if not os.path.isfile(AXE_JS):
        raise Fatal('%s is missing: run deploy/deps.sh (npm ci in tests/web)' % AXE_JS)
    d = Driver(args.chromedriver, os.path.join(args.screenshot_dir, 'chromedriver.log'))
    try:
        d.start(args.chromium, args.spki)
        steps(d, base, args, r, view, events, conflict_view, status, surname, shot, labels, refdata)
    except (Fatal, WebDriverError) as e:
        r.bad('browser run', str(e))
        try:
            if d.session:
                d.screenshot(shot('failure.png'))
            print('note: failure screenshot in %s' % shot('failure.png'))
        except Exception:  # noqa: BLE001
            pass
    finally:
        d.quit()


def axe_check(d, r, page):
    """Run axe-core's WCAG 2.2 A/AA rules on the page as it is now; one check per page."""
    if d.script('return typeof window.axe;') != 'object':
        with open(AXE_JS, encoding='utf-8') as f:
            # Injected through WebDriver, so the page's Content-Security-Policy does not apply.
            d.script(f.read() + '\nreturn true;')
    res = d.async_script(
        'var done = arguments[arguments.length - 1];'
        'axe.run(document, {runOnly: {type: "tag", values: arguments[0]}, resultTypes: ["violations"]})'
        '.then(function (r) { done({violations: r.violations.map(function (v) { return {'
        '  id: v.id, impact: v.impact, help: v.help,'
        '  nodes: v.nodes.map(function (n) { return n.target.join(" ") + ": " + n.failureSummary.replace(/\\s+/g, " "); })'
        '}; })}); }, function (e) { done({error: String(e)}); });', AXE_TAGS)
    if res.get('error'):
        r.bad('axe-core on the %s page' % page, res['error'])
        return
    lines = []
    for v in res['violations']:
        lines.append('%s (%s): %s' % (v['id'], v['impact'], v['help']))
        lines.extend('    ' + n[:300] for n in v['nodes'][:5])
        if len(v['nodes']) > 5:
            lines.append('    ... and %d more' % (len(v['nodes']) - 5))
    r.check(not lines, 'axe-core: no WCAG 2.2 A/AA violations on the %s page' % page,
            '%d violated rules\n      ' % len(res['violations']) + '\n      '.join(lines))


def soon(d, fn, timeout=5):
    """fn() becomes true within timeout seconds (a check, not a step the rest depends on)."""
    try:
        d.wait_until(fn, 'a condition', timeout=timeout)
        return True
    except Fatal:
        return False


def focused_id(d):
    return d.script('var a = document.activeElement; return a ? a.id || a.tagName : null;')


def reflows_at_320(d, r, page):
    """WCAG 1.4.10: at 320 CSS px nothing scrolls sideways (tables scroll inside their own region)."""
    d.viewport(320)
    try:
        d.wait_until(lambda: d.script('return window.innerWidth;') <= 320, 'a 320 px viewport')
        width = d.script('return document.documentElement.scrollWidth;')
        wide = d.script(
            'var out = []; document.querySelectorAll("main *").forEach(function (e) {'
            '  var r = e.getBoundingClientRect();'
            '  if (r.right > document.documentElement.clientWidth + 1 && !e.closest(".table-wrap") && e.offsetParent)'
            '    out.push((e.id ? "#" + e.id : e.tagName.toLowerCase() + "." + e.className) + " " + Math.round(r.right));'
            '}); return out.slice(0, 8);')
        r.check(width <= 320, 'the %s page reflows at 320 px (scrollWidth %d)' % (page, width), ', '.join(wide))
    finally:
        d.viewport(None)


def record_additions(d, r, view, conflict_view):
    """The offender screen's sentence plan, risk badges and new release dates (args.noms), and a
    PLAN_CONCURRENT_UPDATE conflict in the conflict panel (args.conflict_noms); the page is args.noms."""
    risk = view.get('risk') or {}
    for key, el_id in (('rosh', 'badge-rosh'), ('tier', 'badge-tier')):
        el = d.find('#' + el_id)
        if risk.get(key):
            r.eq(d.attr(el, 'data-value') if el else None, risk[key], 'risk badge %s shows %s' % (key, risk[key]))
        else:
            r.check(el is None, 'no %s badge when the view has none' % key)
    mappa = risk.get('mappa')
    el = d.find('#badge-mappa')
    r.check((el is not None and mappa.get('category') in d.text(el)) if mappa else el is None,
            'MAPPA badge matches the view', repr(mappa))
    dates = view.get('dates') or {}
    for key in ('hdced', 'ped', 'led'):
        el = d.find('#date-' + key)
        if dates.get(key):
            r.eq(d.attr(el, 'data-value') if el else None, dates[key], 'release date %s shown' % key.upper())
    if dates.get('release_date_adjusted'):
        el = d.find('#date-adjusted')
        r.eq(d.attr(el, 'data-value') if el else None, dates['release_date_adjusted'], 'working-day-adjusted release date shown')
    plan = view.get('plan') or {}
    goals = plan.get('goals') or []
    r.check(len(goals) > 0, 'the API view of %s has a sentence plan' % view.get('noms'))
    d.wait('#plan')
    r.eq(len(d.find_all('#plan .plan__goal')), len(goals), 'the plan shows each goal')
    for g in goals:
        goal = d.find('#plan .plan__goal[data-goal-id="%s"]' % g['goal_id'])
        if goal is None:
            r.bad('plan goal %s shown' % g['goal_id'])
            continue
        text = d.text(goal)
        r.check(g['title'] in text and d.attr(goal, 'data-area') == g['area_of_need'] and g['site'] in text,
                'goal %s: title, area of need and the site that wrote it' % g['goal_id'], text[:200])
        for st in g.get('steps') or []:
            row = d.find_all('.plan-step[data-step-id="%s"]' % st['step_id'], root=goal)
            rt = d.text(row[0]) if row else ''
            r.check(row and st['description'] in rt and st['site'] in rt,
                    'step %s/%s: description and site shown' % (g['goal_id'], st['step_id']), rt[:200])
    heads = [d.attr(e, 'data-area') for e in d.find_all('#plan .plan__area')]
    r.eq(sorted(heads), sorted(set(g['area_of_need'] for g in goals)), 'goals are grouped by area of need')
    if plan.get('agreement'):
        r.eq(d.attr(d.find('#plan-agreement'), 'data-value'), plan['agreement'].get('agreement_status'), 'plan agreement shown')
    r.eq(len(d.find_all('#plan .plan-review')), len(plan.get('reviews') or []), 'plan reviews listed')


def plan_conflict(d, r, conflict_view):
    """On the conflict record's page: a PLAN_CONCURRENT_UPDATE conflict is in the panel and on the goal."""
    want = [c for c in conflict_view.get('conflicts') or [] if c.get('rule') == 'PLAN_CONCURRENT_UPDATE']
    if not want:
        r.bad('the conflict record has a PLAN_CONCURRENT_UPDATE conflict (generator --conflicts)')
        return
    el = d.find('#conflicts .conflict[data-rule="PLAN_CONCURRENT_UPDATE"]')
    r.check(el is not None and want[0].get('description', '') in d.text(el),
            'the conflict panel shows PLAN_CONCURRENT_UPDATE with its description')
    flagged = [eid for eid in want[0].get('events') or [] if d.find('#plan .plan__update--conflict[data-event-id="%s"]' % eid)]
    r.check(flagged, 'the plan marks the concurrent goal update', repr(want[0].get('events')))


def community_record(d, r, base, api, shot):
    """A person on a community sentence (found through the API): requirements with progress bars, compliance."""
    items = api.get('/v1/offenders?region=N55&limit=500').get('items') or []
    cview = None
    for it in items:
        if not it.get('noms') and it.get('crn'):
            v = api.get('/v1/offenders/' + urllib.parse.quote(it['crn']))
            if v.get('community'):
                cview = v
                break
    if cview is None:
        r.bad('a person on a community sentence in region N55 (nomsync-gen makes one in five)')
        return
    d.get(base + '/#/offender/' + cview['crn'])
    d.wait('#community .order')
    orders = cview['community']
    r.eq(len(d.find_all('#community .order')), len(orders), '%s: each community sentence shown' % cview['crn'])
    o = orders[0]
    box = d.find('#community .order[data-sentence-id="%s"]' % o['sentence_id'])
    for q in o.get('requirements') or []:
        row = d.find_all('.requirement[data-requirement-id="%s"]' % q['requirement_id'], root=box) if box else []
        bar = d.find_all('progress', root=row[0]) if row else []
        got = d.script('return [Number(arguments[0].value), Number(arguments[0].max), arguments[0].getAttribute("aria-label")];',
                       {ELEMENT_KEY: bar[0]}) if bar else None
        r.check(got and got[0] == min(q['completed'], q['required']) and got[1] == max(q['required'], 1) and got[2],
                'requirement %s (%s): a labelled progress bar at %s of %s' % (q['requirement_id'], q['category'], q['completed'], q['required']),
                repr(got))
        r.check(row and ('%s of %s' % (q['completed'], q['required'])) in d.text(row[0]),
                'requirement %s: progress also as text' % q['requirement_id'])
    c = o.get('compliance') or {}
    r.eq(d.text(d.find_all('.compliance-failures', root=box)[0]) if box else None, str(c.get('failures_to_comply', 0)),
         'failures to comply shown')
    r.eq(d.text(d.find_all('.compliance-warnings', root=box)[0]) if box else None, str(c.get('warnings', 0)), 'warnings shown')
    r.eq(len(d.find_all('.compliance-breach', root=box)) if box else -1, 1 if c.get('in_breach') else 0, '"In breach" exactly when the view says so')
    r.eq(len(d.find_all('.compliance-due', root=box)) if box else -1, 1 if c.get('enforcement_due') else 0,
         '"Enforcement due" exactly when the view says so')
    d.scroll_to(d.find('#community'))
    time.sleep(0.2)
    n = d.screenshot(shot('community.png'))
    r.check(n > 1000, 'screenshot community.png (%d bytes)' % n)
    axe_check(d, r, 'community sentence')
    reflows_at_320(d, r, 'community sentence')


def shown_refs(d, css):
    return sorted(d.attr(e, 'data-ref') for e in d.find_all(css + ' .result'))


def new_pages(d, r, base, args, api, view, shot):
    """My caseload (typed and submitted from the keyboard), releases due, regional figures."""
    staff = ((view.get('managers') or {}).get('com') or {}).get('staff')
    want = sorted(p['ref'] for p in api.get('/v1/caseload?staff=' + urllib.parse.quote(staff or '')))
    d.get(base + '/#/mycaseload')
    box = d.wait('#mycaseload-staff')
    d.type(box, staff.lower())
    d.keys(box, ENTER)
    d.wait_until(lambda: 'managed by' in d.text(d.find('#mycaseload-count')), 'the caseload of %s' % staff)
    r.check(len(want) > 0 and shown_refs(d, '#mycaseload-results') == want,
            'My caseload %s lists the %d people of /v1/caseload' % (staff, len(want)), repr(shown_refs(d, '#mycaseload-results')))
    ref = view.get('noms')
    r.check(ref in shown_refs(d, '#mycaseload-results'), 'My caseload of the COM lists %s' % ref)
    r.eq(focused_id(d), 'mycaseload-title', 'after submitting, focus is on the new h1')
    n = d.screenshot(shot('mycaseload.png'))
    r.check(n > 1000, 'screenshot mycaseload.png (%d bytes)' % n)
    axe_check(d, r, 'my caseload')
    reflows_at_320(d, r, 'my caseload')

    # Releases due from MDI over ten years from 2019 (the generated sentences start in 2020).
    q = 'prison=MDI&days=3660&as_of=2019-01-01'
    want = [p['ref'] for p in api.get('/v1/releases?' + q)]
    d.get(base + '/#/releases?' + q)
    d.wait_until(lambda: 'due for release' in d.text(d.find('#releases-count')), 'the releases due')
    got = [d.attr(e, 'data-ref') for e in d.find_all('#releases-results .result')]
    r.check(len(want) > 0 and got == want, 'Releases due at MDI lists the %d people of /v1/releases in date order' % len(want), repr(got))
    r.eq(d.script('return document.getElementById("releases-select").value;'), 'prison:MDI', 'the form shows the prison asked for')
    axe_check(d, r, 'releases due')
    reflows_at_320(d, r, 'releases due')

    # Regional figures: choose N55 in the form; charts drawn with their numbers as text.
    fig = api.get('/v1/figures?region=N55')
    d.get(base + '/#/figures')
    d.wait('#chart-supervision')
    d.script('document.getElementById("figures-select").value = "N55";')
    d.click(d.find('#figures-button'))
    d.wait_until(lambda: 'N55' in d.text(d.find('#figures-title')), 'the figures of N55')
    d.wait('#chart-tier')
    r.eq(d.text(d.find('#fig-persons')), str(fig.get('persons')), 'figures: people in N55')
    for chart, key in (('chart-supervision', 'caseload_by_supervision'), ('chart-tier', 'caseload_by_tier'),
                       ('chart-prison', 'population_by_prison'), ('chart-conflicts', 'conflicts_by_rule')):
        rows = {d.attr(e, 'data-key'): d.text(d.find_all('.chart-value', root=e)[0]) for e in d.find_all('#%s .chart-row' % chart)}
        r.eq(rows, {k: str(v) for k, v in (fig.get(key) or {}).items()}, 'chart %s lists %s as text' % (chart, key))
    bars = d.script('return Array.prototype.map.call(document.querySelectorAll("#chart-supervision .bar"), function (b) {'
                    ' return [b.getAttribute("aria-hidden"), b.getBoundingClientRect().width]; });')
    r.check(bars and all(b[0] == 'true' for b in bars) and max(b[1] for b in bars) > 0,
            'chart bars are drawn (and hidden from screen readers, the numbers being text)', repr(bars))
    r.eq(d.text(d.find('#fig-uw-ordered')), str((fig.get('unpaid_work') or {}).get('hours_ordered')), 'figures: unpaid work hours ordered')
    d.scroll_to(d.find('#chart-supervision'))
    time.sleep(0.2)
    n = d.screenshot(shot('figures.png'))
    r.check(n > 1000, 'screenshot figures.png (%d bytes)' % n)
    axe_check(d, r, 'regional figures')
    reflows_at_320(d, r, 'regional figures')


def console_problems(d):
    """SEVERE browser console entries since the last call, less expected ones."""
    return [e.get('message', '') for e in d.browser_log()
            if e.get('level') == 'SEVERE' and 'status of 401' not in e.get('message', '')
            and 'favicon.ico' not in e.get('message', '')]


def steps(d, base, args, r, view, events, conflict_view, status, surname, shot, labels, refdata):
    # 1. Not signed in: the server shows the login page.
    d.get(base + '/')
    form = d.wait('#login-form')
    r.ok('login page shown before signing in')
    r.check('Sign in' in d.title(), 'login page title', d.title())
    r.check(d.find('#search-input') is None, 'no record page before signing in')
    d.screenshot(shot('login.png'))
    axe_check(d, r, 'login')
    reflows_at_320(d, r, 'login')

    # 2. A wrong token is refused (the login page comes back).
    d.type(d.wait('#token-input'), 'not-the-token')
    d.click(d.wait('#login-button'))
    d.wait_until(lambda: d.current_url().rstrip('/').endswith('/login') and
                 d.script('return document.readyState;') == 'complete', 'the answer to a wrong token')
    d.wait('#login-form')
    r.check(d.find('#search-input') is None and d.find('#login-form') is not None, 'wrong token: still on the login page')
    err = d.find('#token-error')
    r.check(err is not None and 'not valid' in d.text(err) and d.attr(err, 'role') == 'alert',
            'wrong token: an error message says the token is not valid (role=alert)', d.text(err) if err else 'none')
    tok = d.wait('#token-input')
    r.check('token-error' in (d.attr(tok, 'aria-describedby') or '').split() and d.attr(tok, 'aria-invalid') == 'true',
            'wrong token: the field is described by the error and marked invalid', d.attr(tok, 'aria-describedby') or '')
    r.check(d.title().startswith('Error: '), 'wrong token: the page title starts with "Error: "', d.title())
    d.screenshot(shot('login-error.png'))
    axe_check(d, r, 'login error')

    # 3. Sign in with the right token.
    d.type(d.wait('#token-input'), args.token)
    d.click(d.wait('#login-button'))
    d.wait('#search-input')
    r.ok('signed in: search page shown')
    d.wait_until(lambda: d.attr(d.find('#user-badge'), 'hidden') is None, 'the signed-in user in the header')
    r.check('service' in d.text(d.find('#user-badge-name')).lower(), 'signed in with the token: the header says service',
            d.text(d.find('#user-badge-name')))
    axe_check(d, r, 'home')
    del form

    # 4. Search by surname; the result list contains the NOMS number.
    d.type(d.wait('#search-input'), surname)
    d.click(d.wait('#search-button'))
    row_css = '#results .result[data-noms="%s"]' % args.noms
    row = d.wait(row_css)
    r.ok('search for %s lists %s' % (surname, args.noms))
    r.check('#/search' in d.current_url(), 'search route in the address', d.current_url())
    r.check(args.noms in d.text(row), 'result row shows the NOMS number', d.text(row))
    r.check(soon(d, lambda: focused_id(d) == 'search-title'), 'after a search, focus is on the results page\'s h1',
            'focus on %s' % focused_id(d))
    axe_check(d, r, 'search results')

    # 5. Open the record from the results.
    d.click(d.find_all('a.result-link', root=row)[0])
    d.wait_until(lambda: d.text(d.wait('#offender-noms')) == args.noms, 'the record of ' + args.noms)
    r.ok('record of %s opened from the results' % args.noms)
    r.check(('#/offender/' + args.noms) in d.current_url(), 'offender route in the address', d.current_url())
    r.eq(d.text(d.find('#offender-name')), person_name(view.get('name')), 'name matches the API view')
    r.eq(d.text(d.find('#offender-noms')), view.get('noms'), 'NOMS number matches')
    r.eq(d.text(d.find('#offender-crn')), view.get('crn') or '\u2013', 'CRN matches')
    st = d.find('#offender-status')
    r.eq(d.attr(st, 'data-value') or None, view.get('status'), 'custody status matches (data)')
    if view.get('status'):
        r.eq(d.text(st), view['status'], 'custody status shown')
    pr = d.find('#offender-prison')
    r.eq(d.attr(pr, 'data-value') or None, view.get('prison'), 'prison matches (data)')
    if view.get('prison'):
        r.check(d.text(pr).startswith(view['prison']), 'prison shown', d.text(pr))
        name = (refdata.get('prisons') or {}).get(view['prison'])
        r.check(name is not None and d.text(pr) == view['prison'] + ' \u2013 ' + name,
                'prison named from /v1/refdata', d.text(pr))
    else:
        r.check('Not in custody' in d.text(pr), 'not in custody shown', d.text(pr))
    legal = d.find('#offender-legal-status')
    r.eq(d.text(legal), view.get('legal_status') or '\u2013', 'legal status matches')
    dates = view.get('dates') or {}
    for k in DATE_KEYS:
        el = d.find('#date-' + k)
        r.eq(d.attr(el, 'data-value') or None if el else 'missing', dates.get(k), 'release date %s matches' % k.upper())
    if dates.get('crd'):
        r.check(d.displayed(d.find('#date-crd')), 'CRD is visible')
    managers = view.get('managers') or {}
    for who in ('pom', 'com'):
        el = d.find('#' + who)
        m = managers.get(who)
        if m:
            r.eq(d.attr(el, 'data-staff'), m.get('staff'), '%s staff id matches' % who.upper())
            if m.get('name'):
                r.check(m['name'] in d.text(el), '%s name shown' % who.upper(), d.text(el))
        else:
            r.check('Not allocated' in d.text(el), '%s shown as not allocated' % who.upper(), d.text(el))
    r.eq(d.attr(d.find('#responsible'), 'data-value') or None, managers.get('responsible'), 'responsible manager matches')
    want_events = len(events.get('events') or [])
    d.wait_until(lambda: len(d.find_all('#timeline .event')) == want_events, '%d timeline rows' % want_events)
    r.eq(len(d.find_all('#timeline .event')), view.get('event_count'), 'timeline lists event_count events')
    shown = [d.text(el) for el in d.find_all('#timeline .event .event__type')]
    r.eq(sorted(shown), sorted(labels.get(e['type'], e['type']) for e in events['events']),
         'timeline events are labelled from /v1/catalogue')
    r.check(all(t in labels for t in set(e['type'] for e in events['events'])), 'every event type has a catalogue label')
    sets = [e for e in events['events'] if e.get('sets')]
    if sets:
        e = sets[0]
        row = d.find('#timeline .event[data-event-id="%s"]' % e['id'])
        r.check(row is not None and all(len(d.find_all('[data-field="%s"]' % f, root=row)) == 1 for f in e['sets']),
                'timeline shows the fields an event set', e['id'][:12])
    if view.get('licence'):
        r.check(d.displayed(d.find('#licence')), 'licence card shown')
    n = d.screenshot(shot('offender.png'))
    r.check(n > 1000, 'screenshot offender.png (%d bytes)' % n)
    r.eq(focused_id(d), 'offender-name', 'after opening a record, focus is on its h1 (the name)')
    record_additions(d, r, view, conflict_view)
    axe_check(d, r, 'offender')
    # Every table that may scroll sideways is a focusable, named region (WCAG 2.1.1, 4.1.2).
    wraps = d.find_all('#offender .table-wrap')
    unnamed = [d.attr(w, 'id') or '?' for w in wraps if not (d.attr(w, 'tabindex') == '0' and d.attr(w, 'role') == 'region'
                                                             and d.attr(w, 'aria-label'))]
    r.check(wraps and not unnamed, 'each of the record\'s %d tables scrolls in a focusable, labelled region' % len(wraps),
            ', '.join(unnamed))
    reflows_at_320(d, r, 'offender')
    # The skip link, from the keyboard: the record stays open and focus moves to <main>.
    # (Reloaded, as a user arriving at the record's address would: the first Tab is from the top.)
    route_before = d.current_url()
    d.script('location.reload();')
    d.wait_until(lambda: d.script('return document.readyState;') == 'complete' and d.find('#offender-name'), 'the record reloaded')
    d.keys(d.find('body'), TAB)
    r.eq(focused_id(d), 'skip-link', 'the first Tab reaches the skip link')
    d.keys(d.active(), ENTER)
    r.check(soon(d, lambda: focused_id(d) == 'main'), 'the skip link moves focus to the main content',
            'focus on %s' % focused_id(d))
    r.eq(d.current_url(), route_before, 'the skip link keeps the record open (same address)')
    r.check(d.displayed(d.find('#offender-name')) and not d.displayed(d.find('#error')),
            'the skip link shows no error and leaves the record on screen')

    # 6. Caseload of the offender's prison or region lists them too.
    item = None
    _, page, _ = http_json('GET', base + '/v1/offenders?q=' + urllib.parse.quote(surname) + '&limit=500',
                           headers={'Authorization': 'Bearer ' + args.token})
    for it in (page or {}).get('items', []):
        if it.get('noms') == args.noms:
            item = it
    if item and (item.get('prison') or item.get('region')):
        key = 'prison' if item.get('prison') else 'region'
        d.get(base + '/#/caseload?%s=%s' % (key, item[key]))
        d.wait('#caseload-results .result[data-noms="%s"]' % args.noms)
        r.ok('caseload %s=%s lists %s' % (key, item[key], args.noms))
        axe_check(d, r, 'caseload')
        sel = d.find('#caseload-select')
        r.eq(d.script('return arguments[0].value;', {ELEMENT_KEY: sel}), '%s:%s' % (key, item[key]), 'caseload select shows the caseload')
        groups = d.script('return Array.prototype.map.call(arguments[0].querySelectorAll("optgroup"), '
                          'function (g) { return [g.label, g.children.length]; });', {ELEMENT_KEY: sel})
        r.check(['All prisons', len(refdata.get('prisons') or {})] in groups and
                ['Probation regions', len(refdata.get('regions') or {})] in groups,
                'caseload select lists every prison and region of /v1/refdata', repr(groups))

    # 7. A record with a conflict: a red panel naming the rule, events highlighted.
    d.get(base + '/#/offender/' + args.conflict_noms)
    panel = d.wait('#conflicts')
    conflict = d.wait('#conflicts .conflict[data-rule="%s"]' % CONFLICT_RULE)
    r.ok('conflict panel for %s is visible' % args.conflict_noms)
    r.check(CONFLICT_RULE in d.text(conflict), 'conflict panel names %s' % CONFLICT_RULE, d.text(conflict))
    colour = d.script('return getComputedStyle(arguments[0]).borderTopColor;', {ELEMENT_KEY: panel})
    r.check(colour.replace(' ', '') in ('rgb(212,53,28)',), 'conflict panel is red', colour)
    want = [c for c in conflict_view.get('conflicts', []) if c.get('rule') == CONFLICT_RULE]
    r.check(len(want) >= 1, 'API view has the %s conflict' % CONFLICT_RULE)
    if want:
        desc = want[0].get('description') or ''
        r.check(desc in d.text(conflict), 'conflict description shown', desc)
        d.wait('#timeline .event')
        for eid in want[0].get('events', []):
            row = d.find('#timeline .event[data-event-id="%s"]' % eid)
            cls = d.attr(row, 'class') if row else ''
            r.check(row is not None and 'event--conflict' in (cls or ''),
                    'timeline highlights conflicting event %s' % eid[:12], 'class %r' % cls)
    d.scroll_to(d.find('#offender-banner') or panel)
    time.sleep(0.2)
    n = d.screenshot(shot('conflict.png'))
    r.check(n > 1000, 'screenshot conflict.png (%d bytes)' % n)
    live = d.find('#announce')
    r.check(live is not None and d.attr(live, 'aria-live') == 'polite' and 'conflict' in d.script(
            'return arguments[0].textContent;', {ELEMENT_KEY: live}),
            'the conflict is announced in a live region', d.attr(live, 'aria-live') if live else 'no #announce')
    plan_conflict(d, r, conflict_view)
    axe_check(d, r, 'offender with a conflict')
    reflows_at_320(d, r, 'offender with a conflict')

    # No script errors or blocked resources in the browser console so far
    # (the login page's own 401 is expected).
    problems = console_problems(d)
    r.check(not problems, 'no errors in the browser console', '; '.join(problems)[:400])

    # 7a. A community sentence, and the pages My caseload, Releases due and Regional figures.
    api = Api(base, args.token)
    community_record(d, r, base, api, shot)
    new_pages(d, r, base, args, api, view, shot)
    problems = console_problems(d)
    r.check(not problems, 'no errors in the browser console on the new pages', '; '.join(problems)[:400])

    # 8. API errors are shown, and data is inserted as text, never as HTML.
    d.get(base + '/#/offender/A9999ZZ')
    err = d.wait('#error')
    r.check('404' in d.text(err), 'an unknown NOMS number shows the API error', d.text(err))
    axe_check(d, r, 'record not found')
    d.get(base + '/#/search?q=' + urllib.parse.quote('<img src=x id=injected>'))
    d.wait_until(lambda: 'No records found' in d.text(d.wait('#search-count')), 'the empty search result')
    r.check(d.find('#injected') is None and '<img' in d.text(d.find('#search-count')).lower(),
            'markup in a query is shown as text, not inserted', d.text(d.find('#search-count')))
    console_problems(d)  # drop the wanted 404

    # 9. Node status: the peers are listed.
    d.get(base + '/#/status')
    d.wait('#peers .peer')
    peers = status.get('peers') or []
    d.wait_until(lambda: len(d.find_all('#peers .peer')) == len(peers), '%d peer rows' % len(peers))
    r.eq(len(d.find_all('#peers .peer')), len(peers), 'status page lists %d peers' % len(peers))
    shown = sorted(d.attr(p, 'data-site') for p in d.find_all('#peers .peer'))
    r.eq(shown, sorted(p.get('site') for p in peers), 'peer sites match the API')
    r.eq(d.text(d.find('#node-site')), status.get('site'), 'status page names this node')
    r.check(len(d.find_all('#vector .origin')) == len(status.get('vector') or {}), 'version vector listed')
    r.check(len(d.find_all('#counters [data-counter="folds_pending"]')) == 1, 'status page shows deferred folds pending')
    r.check(len(d.find_all('#counters [data-counter="ids_pending"]')) == 1, 'status page shows deferred id index entries pending')
    r.check(len(d.find_all('#held')) == (1 if (status.get('daemon') or {}).get('appends_held') else 0),
            'the appends-held banner shows exactly when the API says appends are held')
    n = d.screenshot(shot('status.png'))
    r.check(n > 1000, 'screenshot status.png (%d bytes)' % n)
    axe_check(d, r, 'status')
    reflows_at_320(d, r, 'status')
    # WCAG 2.2.2: the status page refreshes itself, so it has a pause control; refreshing never moves focus.
    pause = d.wait('#status-pause')
    d.script('arguments[0].focus();', {ELEMENT_KEY: pause})
    d.script('document.getElementById("peers").dataset.mark = "seen";')
    d.wait_until(lambda: d.script('var p = document.getElementById("peers"); return !p || p.dataset.mark !== "seen";'),
                 'a refresh of the status page', timeout=12)
    r.ok('the status page refreshes itself')
    r.eq(focused_id(d), 'status-pause', 'a refresh leaves focus on the pause button')
    d.keys(d.active(), ENTER)
    d.wait_until(lambda: d.attr(d.find('#status-pause'), 'aria-pressed') == 'true', 'the pause button pressed')
    d.script('document.getElementById("peers").dataset.mark = "paused";')
    time.sleep(6.5)
    r.check(d.script('var p = document.getElementById("peers"); return p && p.dataset.mark === "paused";'),
            'paused: the status page does not refresh for 6.5 s')
    r.check('Resume' in d.text(d.find('#status-pause')), 'the pressed button offers to resume', d.text(d.find('#status-pause')))
    d.click(d.find('#status-pause'))
    d.wait_until(lambda: d.script('var p = document.getElementById("peers"); return !p || p.dataset.mark !== "paused";'),
                 'a refresh after resuming', timeout=12)
    r.ok('resumed: the status page refreshes again')
    axe_check(d, r, 'status (after resuming)')

    # 10. No script errors or blocked resources in the browser console since
    # step 8 (whose 404 was wanted).
    problems = console_problems(d)
    r.check(not problems, 'no errors in the browser console on the status page', '; '.join(problems)[:400])

    # 11. Signing out (a POST from the page's button) returns to the login
    # page and ends the session: the page is the login form again after it.
    d.click(d.find('#nav-logout'))
    d.wait('#login-form')
    r.ok('sign out shows the login page')
    d.get(base + '/')
    d.wait('#login-form')
    r.ok('after signing out the session is gone (the login page again)')

    # 12. Signing in with a JWT (pasted): the header shows the user's name
    # and roles, and pages the roles do not allow are hidden and refused.
    if args.jwt:
        d.type(d.wait('#token-input'), args.jwt)
        d.click(d.wait('#login-button'))
        d.wait('#search-input')
        d.wait_until(lambda: d.find('#user-badge') is not None and d.attr(d.find('#user-badge'), 'hidden') is None,
                     'the user in the header')
        r.eq(d.text(d.find('#user-badge-name')), args.jwt_name, 'signed in with a JWT: the header names the user')
        if base.startswith('https:'):
            r.eq(d.script('return location.protocol;'), 'https:', 'the JWT sign-in was over TLS (https:)')
        r.check('nomsync_session' not in (d.script('return document.cookie;') or ''),
                'the session cookie is HttpOnly: the page\'s scripts cannot read it')
        r.eq(d.text(d.find('#user-badge-roles')).lower(), 'view', 'the header shows the user\'s roles')
        hidden = [i for i in ('nav-figures', 'nav-status') if d.attr(d.find('#' + i), 'hidden') is not None]
        r.eq(hidden, ['nav-figures', 'nav-status'], 'links to pages the roles do not allow are hidden')
        r.check(d.attr(d.find('#nav-search'), 'hidden') is None, 'the search link stays (ROLE_NOMSYNC_VIEW)')
        axe_check(d, r, 'home (signed in with a JWT)')
        d.get(base + '/#/status')
        err = d.wait('#error-message')
        d.wait_until(lambda: 'ROLE_NOMSYNC_ADMIN' in d.text(err), 'the status page refused for want of a role')
        r.ok('a page the roles do not allow says which role it needs')
        d.click(d.find('#nav-logout'))
        d.wait('#login-form')
        r.ok('signed out of the JWT session')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--base', required=True, help='http://127.0.0.1:PORT or https://127.0.0.1:PORT')
    ap.add_argument('--cacert', help='with an https --base: the CA file the API requests trust')
    ap.add_argument('--spki', help='with an https --base: base64 SHA-256 of the server key\'s SPKI, the one '
                    'certificate Chromium accepts without the CA (--ignore-certificate-errors-spki-list)')
    ap.add_argument('--token', required=True)
    ap.add_argument('--screenshot-dir', required=True)
    ap.add_argument('--noms', default='A0001AB')
    ap.add_argument('--conflict-noms', default='A0000AA')
    ap.add_argument('--chromedriver', default='/usr/bin/chromedriver')
    ap.add_argument('--chromium', default='/usr/bin/chromium')
    ap.add_argument('--jwt', help='a JWT with ROLE_NOMSYNC_VIEW only, to sign in with at the end')
    ap.add_argument('--jwt-name', help='the name claim of --jwt')
    args = ap.parse_args()
    if args.base.startswith('https:'):
        if not args.cacert or not args.spki:
            ap.error('an https --base needs --cacert and --spki')
        global TLS_CONTEXT
        TLS_CONTEXT = ssl.create_default_context(cafile=args.cacert)
    r = Results()
    try:
        run(args, r)
    except Fatal as e:
        r.bad('setup', str(e))
    except Exception as e:  # noqa: BLE001 - report, never hide, an unexpected error
        r.bad('unexpected error', '%s: %s' % (type(e).__name__, e))
    print('%d passed, %d failed' % (r.passed, r.failed))
    sys.exit(0 if r.failed == 0 and r.passed > 0 else 1)


if __name__ == '__main__':
    main()
