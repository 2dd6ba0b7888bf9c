#!/usr/bin/env python3
"""Headless-browser test of the caseworker web page served by nomsyncd.

Drives Debian's chromedriver over the W3C WebDriver HTTP protocol (Python 3
standard library only): signs in through the login page, searches for an
offender by surname, opens the record and compares what the page shows with
the API's view (names and event labels as /v1/refdata and /v1/catalogue
give them), opens a record with a conflict and checks the red conflict
panel and the highlighted timeline events, and opens the node status page.
Screenshots of the offender page, the conflict and the status page are saved.

Accessibility (WCAG 2.2 AA): axe-core (tests/web/node_modules, from npm at the
version pinned in tests/web/package.json; deploy/deps.sh installs it) runs its
wcag2a/2aa/21a/21aa/22aa rules on every page visited and any violation fails;
the keyboard is checked (skip link, focus on each new page's h1, the status
page's pause control), pages reflow at 320 CSS px, and a wrong token is
reported as an error on the login page.

    browser_test.py --base http://127.0.0.1:PORT --token TOKEN \
        --screenshot-dir DIR --noms A0001AB --conflict-noms A0000AA

Prints "ok ..." / "FAIL ..." per check and "N passed, M failed" at the end;
exits non-zero if anything failed.
"""
import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

ELEMENT_KEY = 'element-6066-11e4-a52e-4f735466cecf'
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
        with urllib.request.urlopen(req, timeout=timeout) as res:
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

    def start(self, chromium):
        """Wait for chromedriver, then open a headless Chromium session."""
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
                        ],
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
        d.start(args.chromium)
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
    axe_check(d, r, 'offender with a conflict')
    reflows_at_320(d, r, 'offender with a conflict')

    # No script errors or blocked resources in the browser console so far
    # (the login page's own 401 is expected).
    problems = console_problems(d)
    r.check(not problems, 'no errors in the browser console', '; '.join(problems)[:400])

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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--base', required=True, help='http://127.0.0.1:PORT')
    ap.add_argument('--token', required=True)
    ap.add_argument('--screenshot-dir', required=True)
    ap.add_argument('--noms', default='A0001AB')
    ap.add_argument('--conflict-noms', default='A0000AA')
    ap.add_argument('--chromedriver', default='/usr/bin/chromedriver')
    ap.add_argument('--chromium', default='/usr/bin/chromium')
    args = ap.parse_args()
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
