/*
 * nomsync caseworker view: a single-page app over the node's JSON API
 * (served by nomsyncd from the same origin; no framework, no build step,
 * no external resources).
 *
 * Routes (location.hash):
 *   #/                          home
 *   #/search?q=SMITH[&offset=N] surname search (a NOMS number or CRN opens the record)
 *   #/caseload?prison=MDI       people held at a prison
 *   #/caseload?region=N55       people supervised in a probation region
 *   #/offender/A1234BC          one person's record (NOMS number or CRN)
 *   #/mycaseload?staff=POM0001  a POM's or COM's people (GET /v1/caseload)
 *   #/releases?prison=MDI&days=28[&as_of=YYYY-MM-DD]
 *                               people due out of a prison (or region=) (GET /v1/releases)
 *   #/figures[?region=N55]      figures of a region or the estate, with charts (GET /v1/figures)
 *   #/status                    this node's replication status
 *
 * Every value from the API is inserted with textContent or setAttribute,
 * never as HTML. A 401 from the API sends the browser to / where the server
 * shows the sign-in page.
 */
(function () {
  'use strict';

  var NOMS_RE = /^[A-Z][0-9]{4}[A-Z]{2}$/;
  var CRN_RE = /^[A-Z][0-9]{6}$/;
  var PAGE_SIZE = 50;
  var STATUS_REFRESH_MS = 5000;

  /*
   * Display names, fetched once after sign-in from the tables the node itself
   * validates with: prisons and probation regions from GET /v1/refdata (the
   * CSVs compiled into nomsyncd), event labels from GET /v1/catalogue (the
   * event catalogue). Until they arrive, or if they cannot be had, codes and
   * type names are shown as they are.
   */
  var PRISONS = {};
  var REGIONS = {};
  var EVENT_LABELS = {};

  var MOVEMENT_TYPES = { ADM: 'Admission', TRN: 'Transfer', REL: 'Release', CRT: 'Court', TAP: 'Temporary absence' };

  var FIELD_LABELS = {
    name: 'name', dob: 'date of birth', gender: 'gender', noms: 'NOMS', crn: 'CRN', pnc: 'PNC', cro: 'CRO',
    status: 'status', prison: 'prison', legal_status: 'legal status', sentences: 'sentences', dates: 'release dates',
    recall: 'recall', licence: 'licence', pom: 'POM', com: 'COM', alerts: 'alerts', programmes: 'programmes',
    deceased: 'deceased'
  };

  var MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

  /* ---- DOM helpers: text only ----------------------------------------- */

  function $(id) {
    return document.getElementById(id);
  }

  function append(el, child) {
    if (child === null || child === undefined || child === false) {
      return;
    }
    if (Array.isArray(child)) {
      child.forEach(function (c) { append(el, c); });
    } else if (child instanceof Node) {
      el.appendChild(child);
    } else {
      el.appendChild(document.createTextNode(String(child)));
    }
  }

  /*
   * h('tag', {attr: value, class: 'x', onclick: fn}, child...): a new element.
   * Children that are not nodes become text nodes; attributes are set with
   * setAttribute. Nothing is ever parsed as HTML.
   */
  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) {
          return;
        }
        if (k === 'class') {
          el.className = v;
        } else if (k.slice(0, 2) === 'on' && typeof v === 'function') {
          el.addEventListener(k.slice(2), v);
        } else {
          el.setAttribute(k, v === true ? '' : String(v));
        }
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      append(el, arguments[i]);
    }
    return el;
  }

  function clear(el) {
    while (el.firstChild) {
      el.removeChild(el.firstChild);
    }
    return el;
  }

  function tag(text, colour, attrs) {
    var a = attrs || {};
    a['class'] = 'tag' + (colour ? ' tag--' + colour : '') + (a['class'] ? ' ' + a['class'] : '');
    return h('span', a, text);
  }

  function dash(v) {
    return v === null || v === undefined || v === '' ? '\u2013' : v;
  }

  /* ---- formatting ------------------------------------------------------ */

  /* "2025-01-29" -> "29 Jan 2025"; anything else unchanged. */
  function fmtDate(iso) {
    if (typeof iso !== 'string') {
      return null;
    }
    var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
    if (!m) {
      return iso;
    }
    return String(Number(m[3])) + ' ' + MONTHS[Number(m[2]) - 1] + ' ' + m[1];
  }

  /* "2024-01-02T09:48:41Z" -> "2 Jan 2024 09:48 UTC". */
  function fmtTime(iso) {
    if (typeof iso !== 'string') {
      return null;
    }
    var m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})?/.exec(iso);
    return m ? fmtDate(m[1]) + ' ' + m[2] + ' UTC' : iso;
  }

  /* A <time> element with the ISO value in datetime, or a dash. */
  function dateEl(iso, attrs) {
    var a = attrs || {};
    if (!iso) {
      a['class'] = 'empty-value';
      a['data-value'] = '';
      return h('span', a, '\u2013');
    }
    a.datetime = iso;
    a['data-value'] = iso;
    return h('time', a, fmtDate(iso));
  }

  function ageOn(dob) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(dob || '');
    if (!m) {
      return null;
    }
    var now = new Date();
    var age = now.getUTCFullYear() - Number(m[1]);
    var md = (now.getUTCMonth() + 1) * 100 + now.getUTCDate();
    if (md < Number(m[2]) * 100 + Number(m[3])) {
      age--;
    }
    return age;
  }

  function prisonName(code) {
    if (!code) {
      return null;
    }
    return Object.prototype.hasOwnProperty.call(PRISONS, code) ? code + ' \u2013 ' + PRISONS[code] : code;
  }

  function regionName(code) {
    if (!code) {
      return null;
    }
    return Object.prototype.hasOwnProperty.call(REGIONS, code) ? code + ' \u2013 ' + REGIONS[code] : code;
  }

  function personName(name) {
    if (!name) {
      return 'Name not recorded';
    }
    var s = name.surname || '';
    var f = name.forenames || '';
    return s && f ? s + ', ' + f : s || f || 'Name not recorded';
  }

  function eventLabel(type) {
    return Object.prototype.hasOwnProperty.call(EVENT_LABELS, type) ? EVENT_LABELS[type] : type;
  }

  /* An event of a newer release's type has no name here, only its number. */
  function unknownType(e) {
    return e.type_known === false;
  }

  function eventTypeLabel(e) {
    return unknownType(e) ? 'Unknown event type ' + String(e.type_number) : eventLabel(e.type);
  }

  function shortId(id) {
    return typeof id === 'string' ? id.slice(0, 12) : '';
  }

  function statusColour(status) {
    if (!status) {
      return 'grey';
    }
    if (status.indexOf('ACTIVE IN') === 0) {
      return 'green';
    }
    if (status.indexOf('ACTIVE') === 0) {
      return 'yellow';
    }
    return 'grey';
  }

  function term(t) {
    if (!t) {
      return null;
    }
    var parts = [];
    if (t.years) { parts.push(t.years + (t.years === 1 ? ' year' : ' years')); }
    if (t.months) { parts.push(t.months + (t.months === 1 ? ' month' : ' months')); }
    if (t.days) { parts.push(t.days + (t.days === 1 ? ' day' : ' days')); }
    return parts.length ? parts.join(' ') : null;
  }

  function scalarText(v) {
    if (v === null || v === undefined) {
      return '\u2013';
    }
    if (typeof v === 'object') {
      return JSON.stringify(v);
    }
    return String(v);
  }

  /* ---- API ------------------------------------------------------------- */

  function ApiError(status, body, message) {
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
    this.message = message;
  }
  ApiError.prototype = Object.create(Error.prototype);
  ApiError.prototype.constructor = ApiError;

  var signingOut = false;

  /* GET (or send) JSON; resolves with the parsed body, rejects with ApiError. */
  function api(path, options) {
    var opts = options || {};
    var init = {
      method: opts.method || 'GET',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { Accept: 'application/json' }
    };
    if (opts.body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(opts.body);
    }
    return fetch(path, init).then(function (res) {
      if (res.status === 401) {
        /* Session gone (token changed or cookie cleared): the server shows the sign-in page at /. */
        if (!signingOut) {
          signingOut = true;
          window.location.replace('/');
        }
        throw new ApiError(401, null, 'Your session has ended. Sign in again.');
      }
      return res.text().then(function (text) {
        var body = null;
        if (text) {
          try {
            body = JSON.parse(text);
          } catch (e) {
            body = null;
          }
        }
        if (!res.ok) {
          var msg = body && (body.message || body.error) ? String(body.message || body.error) : res.statusText;
          throw new ApiError(res.status, body, 'The server answered ' + res.status + ': ' + (msg || 'error') + ' (' + path + ')');
        }
        if (body === null) {
          throw new ApiError(res.status, null, 'The server sent an answer that is not JSON (' + path + ')');
        }
        return body;
      });
    }, function (err) {
      if (err instanceof ApiError) {
        throw err;
      }
      throw new ApiError(0, null, 'Cannot reach this node (' + path + '): ' + (err && err.message ? err.message : err));
    });
  }

  /* ---- page state ----------------------------------------------------------- */

  var generation = 0;     /* bumped on every route; stale answers are ignored */
  var statusTimer = null;
  var statusPaused = false;  /* the user paused the status page's refresh (WCAG 2.2.2) */
  var moveFocus = false;     /* the route changed: focus the new page's h1 once it is drawn */
  var announceTimer = null;
  var routedHash = '';       /* the address of the page shown, for a stray #main */
  var nodeStatus = null;  /* last /v1/status, for the header badge and caseload list */
  var whoami = null;      /* GET /v1/whoami: the signed-in user's name and roles (null: not known) */

  /*
   * The role each page needs (as the server's route table, src/http/authz.c,
   * says for the API it calls): links and forms the user's roles do not allow
   * are hidden, and such a page says so instead of failing request by request.
   */
  var PAGE_ROLES = {
    search: 'ROLE_NOMSYNC_VIEW', offender: 'ROLE_NOMSYNC_VIEW', caseload: 'ROLE_NOMSYNC_VIEW',
    mycaseload: 'ROLE_NOMSYNC_VIEW', releases: 'ROLE_NOMSYNC_VIEW', figures: 'ROLE_NOMSYNC_FIGURES',
    status: 'ROLE_NOMSYNC_ADMIN'
  };

  function mayUse(page) {
    var need = PAGE_ROLES[page];
    return !need || !whoami || (whoami.roles || []).indexOf(need) >= 0;
  }

  function showError(message) {
    $('error-message').textContent = message;
    $('error').hidden = false;
    $('error').focus();
  }

  function clearError() {
    $('error').hidden = true;
    $('error-message').textContent = '';
  }

  function reportError(err, gen) {
    if (gen !== undefined && gen !== generation) {
      return;
    }
    if (err && err.status === 401) {
      return;
    }
    showError(err && err.message ? err.message : String(err));
  }

  function setLoading(on) {
    $('loading').hidden = !on;
  }

  function showView(name) {
    var views = document.querySelectorAll('.view');
    for (var i = 0; i < views.length; i++) {
      views[i].hidden = views[i].id !== 'view-' + name;
    }
    var links = document.querySelectorAll('.header__nav a[data-route]');
    for (var j = 0; j < links.length; j++) {
      var on = links[j].getAttribute('data-route') === name ||
        (name === 'home' && links[j].getAttribute('data-route') === 'search');
      links[j].classList.toggle('active', on);
      if (on) {
        links[j].setAttribute('aria-current', 'page');
      } else {
        links[j].removeAttribute('aria-current');
      }
    }
  }

  function setTitle(text) {
    document.title = text + ' - Offender records - nomsync';
  }

  /* ---- router ----------------------------------------------------------------- */

  function parseHash() {
    var raw = window.location.hash.replace(/^#/, '');
    var qi = raw.indexOf('?');
    var path = qi >= 0 ? raw.slice(0, qi) : raw;
    var params = new URLSearchParams(qi >= 0 ? raw.slice(qi + 1) : '');
    var parts = path.split('/').filter(function (p) { return p !== ''; }).map(function (p) {
      try {
        return decodeURIComponent(p);
      } catch (e) {
        return p;
      }
    });
    return { name: parts[0] || 'home', parts: parts, params: params };
  }

  function navigate(hash) {
    moveFocus = true;
    if (window.location.hash === hash) {
      route();
    } else {
      window.location.hash = hash;
    }
  }

  /* A message for screen readers, spoken once by the polite live region. */
  function announce(text) {
    var live = $('announce');
    clearTimeout(announceTimer);
    live.textContent = '';
    if (text) {
      /* Set after a pause, so a repeat of the same text is still announced. */
      announceTimer = setTimeout(function () { live.textContent = text; }, 100);
    }
  }

  /*
   * After a route change, focus moves to the new page's h1 (made focusable
   * by script, tabindex=-1) once it is drawn, so keyboard and screen-reader
   * users start at the new content; an error summary, if shown, keeps focus.
   * Tables that may scroll sideways are keyboard-focusable regions named by
   * their card's heading (WCAG 2.1.1). A MutationObserver covers every page,
   * whatever draws it.
   */
  function afterDraw() {
    var wraps = document.querySelectorAll('#main .table-wrap:not([aria-label])');
    for (var i = 0; i < wraps.length; i++) {
      var sec = wraps[i].closest('section');
      var head = sec && sec.querySelector('h2, h1');
      wraps[i].setAttribute('aria-label', head ? head.textContent.trim() : 'Table');
    }
    if (!moveFocus || !$('error').hidden) {
      moveFocus = false;
      return;
    }
    var view = document.querySelector('.view:not([hidden])');
    var h1 = view && view.querySelector('h1');
    if (h1) {
      moveFocus = false;
      h1.setAttribute('tabindex', '-1');
      h1.focus();
    }
  }

  function onSkipLink(ev) {
    /* The skip link's #main is an anchor, not a route: move focus, keep the page. */
    ev.preventDefault();
    $('main').focus();
    $('main').scrollIntoView();
  }

  function onHashChange() {
    if (window.location.hash === '#main') {
      /* #main followed without the skip link's handler: keep the page, restore its address. */
      window.history.replaceState(null, '', routedHash || '#/');
      $('main').focus();
      return;
    }
    moveFocus = true;
    route();
  }

  function route() {
    generation++;
    if (statusTimer) {
      clearTimeout(statusTimer);
      statusTimer = null;
    }
    clearError();
    setLoading(false);
    var r = parseHash();
    var gen = generation;
    routedHash = window.location.hash;
    if (r.name !== 'search' && r.name !== 'offender') {
      $('search-input').value = '';
    }
    announce('');
    if (!mayUse(r.name)) {
      showView('home');
      setTitle('Not allowed');
      showError('Your account does not have the role ' + PAGE_ROLES[r.name] + ' that this page needs.');
      return;
    }
    switch (r.name) {
      case 'home':
        showView('home');
        setTitle('Search');
        break;
      case 'search':
        showView('search');
        $('search-input').value = r.params.get('q') || '';
        renderSearch(r.params, gen);
        break;
      case 'caseload':
        showView('caseload');
        renderCaseload(r.params, gen);
        break;
      case 'mycaseload':
        showView('mycaseload');
        renderMyCaseload(r.params, gen);
        break;
      case 'releases':
        showView('releases');
        renderReleases(r.params, gen);
        break;
      case 'figures':
        showView('figures');
        renderFigures(r.params, gen);
        break;
      case 'offender':
        showView('offender');
        if (r.parts[1]) {
          renderOffender(r.parts[1].toUpperCase(), gen);
        } else {
          clear($('offender'));
          showError('No NOMS number or CRN in the address.');
        }
        break;
      case 'status':
        showView('status');
        renderStatus(gen, true);
        break;
      default:
        showView('home');
        showError('There is no page at #' + r.parts.join('/') + '.');
    }
  }

  /* ---- search ------------------------------------------------------------------ */

  function onSearch(ev) {
    ev.preventDefault();
    var q = $('search-input').value.trim().toUpperCase();
    if (!q) {
      showError('Enter a NOMS number (e.g. A1234BC), a CRN (e.g. X123456) or the start of a surname.');
      $('search-input').focus();
      return;
    }
    if (NOMS_RE.test(q) || CRN_RE.test(q)) {
      navigate('#/offender/' + encodeURIComponent(q));
    } else {
      navigate('#/search?q=' + encodeURIComponent(q));
    }
  }

  function offsetParam(params) {
    var o = parseInt(params.get('offset') || '0', 10);
    return isNaN(o) || o < 0 ? 0 : o;
  }

  function renderSearch(params, gen) {
    var q = (params.get('q') || '').trim();
    var offset = offsetParam(params);
    var results = clear($('results'));
    clear($('search-pager'));
    $('search-count').textContent = '';
    setTitle('Search: ' + q);
    if (!q) {
      results.appendChild(h('p', { 'class': 'empty' }, 'Enter a surname to search.'));
      return;
    }
    setLoading(true);
    api('/v1/offenders?q=' + encodeURIComponent(q) + '&offset=' + offset + '&limit=' + PAGE_SIZE).then(function (page) {
      if (gen !== generation) {
        return;
      }
      setLoading(false);
      $('search-count').textContent = countText(page, 'surname beginning ' + q);
      results.appendChild(personTable(page.items || []));
      pager($('search-pager'), page, function (o) {
        return '#/search?q=' + encodeURIComponent(q) + '&offset=' + o;
      });
    }).catch(function (err) {
      setLoading(false);
      reportError(err, gen);
    });
  }

  function countText(page, what) {
    var total = typeof page.total === 'number' ? page.total : (page.items || []).length;
    var n = (page.items || []).length;
    if (total === 0) {
      return 'No records found for ' + what + '.';
    }
    var from = (page.offset || 0) + 1;
    var to = (page.offset || 0) + n;
    return total + (total === 1 ? ' record' : ' records') + ' for ' + what +
      (total > n ? ' (showing ' + from + '\u2013' + to + ')' : '');
  }

  function pager(el, page, hashFor) {
    clear(el);
    var offset = page.offset || 0;
    var limit = page.limit || PAGE_SIZE;
    var total = page.total || 0;
    if (total <= limit && offset === 0) {
      return;
    }
    if (offset > 0) {
      el.appendChild(h('a', { href: hashFor(Math.max(0, offset - limit)), 'class': 'link', id: el.id + '-prev' }, '\u2190 Previous'));
    }
    el.appendChild(h('span', { 'class': 'caption' },
      'Page ' + (Math.floor(offset / limit) + 1) + ' of ' + Math.max(1, Math.ceil(total / limit))));
    if (offset + limit < total) {
      el.appendChild(h('a', { href: hashFor(offset + limit), 'class': 'link', id: el.id + '-next' }, 'Next \u2192'));
    }
  }

  /* The result list shared by search and caseloads. */
  function personTable(items) {
    if (!items.length) {
      return h('p', { 'class': 'empty' }, 'No matching records.');
    }
    var body = h('tbody');
    items.forEach(function (it) {
      var ref = it.noms || it.crn || '';
      var conflicts = Number(it.conflicts || 0);
      body.appendChild(h('tr', {
        'class': 'result' + (conflicts ? ' result--conflict' : ''),
        'data-noms': it.noms || '',
        'data-crn': it.crn || '',
        'data-testid': 'result'
      },
        h('td', null, h('a', { href: '#/offender/' + encodeURIComponent(ref), 'class': 'link result-link' }, personName(it.name))),
        h('td', { 'class': 'mono result-noms' }, dash(it.noms)),
        h('td', { 'class': 'mono result-crn' }, dash(it.crn)),
        h('td', null, it.status ? tag(it.status, statusColour(it.status)) : '\u2013'),
        h('td', { title: PRISONS[it.prison] || null }, dash(it.prison)),
        h('td', { title: REGIONS[it.region] || null }, dash(it.region)),
        h('td', null, dash(it.legal_status)),
        h('td', { 'class': 'num' }, conflicts ? tag(conflicts + (conflicts === 1 ? ' conflict' : ' conflicts'), 'red') : '0')
      ));
    });
    return h('div', { 'class': 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Matching records' },
      h('table', { 'class': 'table results-table' },
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, 'Name'),
        h('th', { scope: 'col' }, 'NOMS number'),
        h('th', { scope: 'col' }, 'CRN'),
        h('th', { scope: 'col' }, 'Status'),
        h('th', { scope: 'col' }, 'Prison'),
        h('th', { scope: 'col' }, 'Region'),
        h('th', { scope: 'col' }, 'Legal status'),
        h('th', { scope: 'col', 'class': 'num' }, 'Conflicts'))),
      body));
  }

  /* ---- caseloads -------------------------------------------------------------- */

  /* Fill the prison / region select: this network's sites first, then every code. */
  function fillCaseloadSelect(selected, select) {
    var sel = clear(select || $('caseload-select'));
    sel.appendChild(h('option', { value: '' }, 'Choose a prison or probation region'));
    var seen = {};
    if (nodeStatus && nodeStatus.vector) {
      var local = h('optgroup', { label: 'Sites in this network' });
      var sites = Object.keys(nodeStatus.vector).map(function (k) { return nodeStatus.vector[k]; });
      sites.sort(function (a, b) { return String(a.site).localeCompare(String(b.site)); });
      sites.forEach(function (o) {
        var value = o.role === 'prison' ? 'prison:' + o.site : o.role === 'probation' ? 'region:' + o.site : null;
        if (!value || seen[value]) {
          return;
        }
        seen[value] = true;
        local.appendChild(h('option', { value: value },
          (o.role === 'prison' ? 'Prison ' + prisonName(o.site) : 'Probation region ' + regionName(o.site))));
      });
      if (local.childNodes.length) {
        sel.appendChild(local);
      }
    }
    var prisons = h('optgroup', { label: 'All prisons' });
    Object.keys(PRISONS).sort(function (a, b) { return PRISONS[a].localeCompare(PRISONS[b]); }).forEach(function (c) {
      prisons.appendChild(h('option', { value: 'prison:' + c }, PRISONS[c] + ' (' + c + ')'));
    });
    var regions = h('optgroup', { label: 'Probation regions' });
    Object.keys(REGIONS).forEach(function (c) {
      regions.appendChild(h('option', { value: 'region:' + c }, REGIONS[c] + ' (' + c + ')'));
    });
    sel.appendChild(prisons);
    sel.appendChild(regions);
    if (selected) {
      sel.value = selected;
      if (sel.value !== selected) {
        /* A code not in the lists (e.g. a new establishment): still selectable. */
        var parts = selected.split(':');
        sel.appendChild(h('option', { value: selected }, parts[1]));
        sel.value = selected;
      }
    }
  }

  function onCaseload(ev) {
    ev.preventDefault();
    var v = $('caseload-select').value;
    if (!v) {
      showError('Choose a prison or a probation region.');
      return;
    }
    var parts = v.split(':');
    navigate('#/caseload?' + parts[0] + '=' + encodeURIComponent(parts[1]));
  }

  function renderCaseload(params, gen) {
    var prison = (params.get('prison') || '').toUpperCase();
    var region = (params.get('region') || '').toUpperCase();
    var offset = offsetParam(params);
    var results = clear($('caseload-results'));
    clear($('caseload-pager'));
    $('caseload-count').textContent = '';
    var key = prison ? 'prison' : region ? 'region' : '';
    var code = prison || region;
    fillCaseloadSelect(key ? key + ':' + code : '');
    if (!key) {
      $('caseload-title').textContent = 'Caseloads';
      setTitle('Caseloads');
      results.appendChild(h('p', { 'class': 'empty' }, 'Choose a prison or probation region to list its caseload.'));
      return;
    }
    var title = key === 'prison' ? 'Prison caseload: ' + prisonName(code) : 'Probation caseload: ' + regionName(code);
    $('caseload-title').textContent = title;
    setTitle(title);
    setLoading(true);
    api('/v1/offenders?' + key + '=' + encodeURIComponent(code) + '&offset=' + offset + '&limit=' + PAGE_SIZE).then(function (page) {
      if (gen !== generation) {
        return;
      }
      setLoading(false);
      $('caseload-count').textContent = countText(page, key === 'prison' ? 'prison ' + code : 'region ' + code);
      results.appendChild(personTable(page.items || []));
      pager($('caseload-pager'), page, function (o) {
        return '#/caseload?' + key + '=' + encodeURIComponent(code) + '&offset=' + o;
      });
    }).catch(function (err) {
      setLoading(false);
      reportError(err, gen);
    });
  }

  /* ---- my caseload, releases due, regional figures ------------------------------ */

  var SUPERVISION_LABELS = { CUSTODY: 'Custody', LICENCE: 'Licence', COMMUNITY_ORDER: 'Community order', SSO: 'Suspended sentence order', NONE: 'None' };
  var FLAG_LABELS = { IN_BREACH: 'In breach', ENFORCEMENT_DUE: 'Enforcement due', CONFLICTS: 'Conflicts' };

  /* The people of GET /v1/caseload and GET /v1/releases (a bare array of figures records). */
  function figuresPeopleTable(items, label) {
    if (!items.length) {
      return emptyNote('No people.');
    }
    var rows = items.map(function (it) {
      var ref = it.ref || it.noms || it.crn || '';
      return h('tr', { 'class': 'result', 'data-ref': ref, 'data-noms': it.noms || '', 'data-crn': it.crn || '', 'data-testid': 'result' },
        h('td', null, h('a', { href: '#/offender/' + encodeURIComponent(ref), 'class': 'link result-link mono' }, ref)),
        h('td', { 'class': 'mono' }, dash(it.noms)),
        h('td', { 'class': 'mono' }, dash(it.crn)),
        h('td', null, words(it.status) || '\u2013'),
        h('td', null, SUPERVISION_LABELS[it.supervision] || dash(it.supervision)),
        h('td', { title: PRISONS[it.prison] || null }, dash(it.prison)),
        h('td', { title: REGIONS[it.region] || null }, dash(it.region)),
        h('td', null, dash(it.tier)),
        h('td', null, it.rosh ? tag(words(it.rosh), ROSH_COLOURS[it.rosh] || 'grey') : '\u2013'),
        h('td', null, dateEl(it.release_date)),
        h('td', null, dateEl(it.next_key_date)),
        h('td', null, (it.flags || []).length ? (it.flags || []).map(function (f) {
          return tag(FLAG_LABELS[f] || f, f === 'CONFLICTS' || f === 'IN_BREACH' ? 'red' : 'orange', { 'data-flag': f });
        }) : '\u2013'));
    });
    var wrap = table('results-table', ['Record', 'NOMS number', 'CRN', 'Status', 'Supervision', 'Prison', 'Region', 'Tier', 'RoSH',
      'Release date', 'Next key date', 'Flags'], rows);
    wrap.setAttribute('aria-label', label);
    return wrap;
  }

  function peopleCount(n, what) {
    return n === 0 ? 'No people ' + what + '.' : n + (n === 1 ? ' person ' : ' people ') + what + '.';
  }

  function onMyCaseload(ev) {
    ev.preventDefault();
    var staff = $('mycaseload-staff').value.trim().toUpperCase();
    if (!staff) {
      showError('Enter your staff code, for example POM0001.');
      $('mycaseload-staff').focus();
      return;
    }
    navigate('#/mycaseload?staff=' + encodeURIComponent(staff));
  }

  function renderMyCaseload(params, gen) {
    var staff = (params.get('staff') || '').trim().toUpperCase();
    var results = clear($('mycaseload-results'));
    $('mycaseload-count').textContent = '';
    $('mycaseload-staff').value = staff;
    if (!staff) {
      $('mycaseload-title').textContent = 'My caseload';
      setTitle('My caseload');
      results.appendChild(emptyNote('Enter your staff code to list the people you manage.'));
      return;
    }
    $('mycaseload-title').textContent = 'Caseload of ' + staff;
    setTitle('Caseload of ' + staff);
    setLoading(true);
    api('/v1/caseload?staff=' + encodeURIComponent(staff)).then(function (items) {
      if (gen !== generation) {
        return;
      }
      setLoading(false);
      var list = Array.isArray(items) ? items : [];
      $('mycaseload-count').textContent = peopleCount(list.length, 'managed by ' + staff);
      results.appendChild(figuresPeopleTable(list, 'Caseload of ' + staff));
    }).catch(function (err) {
      setLoading(false);
      reportError(err, gen);
    });
  }

  function onReleases(ev) {
    ev.preventDefault();
    var v = $('releases-select').value;
    var days = $('releases-days').value.trim();
    var from = $('releases-from').value.trim();
    if (!v) {
      showError('Choose a prison or a probation region.');
      $('releases-select').focus();
      return;
    }
    if (!/^[0-9]+$/.test(days) || Number(days) > 3660) {
      showError('Enter the number of days as a whole number from 0 to 3660.');
      $('releases-days').focus();
      return;
    }
    if (from && !/^\d{4}-\d{2}-\d{2}$/.test(from)) {
      showError('Enter the date to count from as a date, for example 2025-07-01.');
      $('releases-from').focus();
      return;
    }
    var parts = v.split(':');
    navigate('#/releases?' + parts[0] + '=' + encodeURIComponent(parts[1]) + '&days=' + days + (from ? '&as_of=' + from : ''));
  }

  function renderReleases(params, gen) {
    var prison = (params.get('prison') || '').toUpperCase();
    var region = (params.get('region') || '').toUpperCase();
    var days = params.get('days') || '28';
    var asOf = params.get('as_of') || '';
    var key = prison ? 'prison' : region ? 'region' : '';
    var code = prison || region;
    var results = clear($('releases-results'));
    $('releases-count').textContent = '';
    fillCaseloadSelect(key ? key + ':' + code : '', $('releases-select'));
    $('releases-days').value = days;
    $('releases-from').value = asOf;
    if (!key) {
      $('releases-title').textContent = 'Releases due';
      setTitle('Releases due');
      results.appendChild(emptyNote('Choose a prison or probation region to list the people due for release.'));
      return;
    }
    var title = 'Releases due: ' + (key === 'prison' ? prisonName(code) : regionName(code));
    $('releases-title').textContent = title;
    setTitle(title);
    setLoading(true);
    api('/v1/releases?' + key + '=' + encodeURIComponent(code) + '&days=' + encodeURIComponent(days) +
      (asOf ? '&as_of=' + encodeURIComponent(asOf) : '')).then(function (items) {
      if (gen !== generation) {
        return;
      }
      setLoading(false);
      var list = Array.isArray(items) ? items : [];
      $('releases-count').textContent = peopleCount(list.length, 'due for release within ' + days + ' days of ' +
        (asOf ? fmtDate(asOf) : 'today') + ', by working-day-adjusted release date');
      results.appendChild(figuresPeopleTable(list, title));
    }).catch(function (err) {
      setLoading(false);
      reportError(err, gen);
    });
  }

  function fillFiguresSelect(selected) {
    var sel = clear($('figures-select'));
    sel.appendChild(h('option', { value: '' }, 'The whole estate'));
    Object.keys(REGIONS).forEach(function (c) {
      sel.appendChild(h('option', { value: c }, REGIONS[c] + ' (' + c + ')'));
    });
    sel.value = selected;
    if (sel.value !== selected) {
      sel.appendChild(h('option', { value: selected }, selected));
      sel.value = selected;
    }
  }

  function onFigures(ev) {
    ev.preventDefault();
    var v = $('figures-select').value;
    navigate(v ? '#/figures?region=' + encodeURIComponent(v) : '#/figures?estate=1');
  }

  /*
   * A bar chart that is its own text equivalent: a table of label and count,
   * with a bar (hidden from screen readers, sized through the CSSOM, which the
   * page's Content-Security-Policy allows) drawn beside each count.
   */
  function barChart(id, title, what, counts, labelFor) {
    var keys = Object.keys(counts || {});
    var max = 0;
    keys.forEach(function (k) { max = Math.max(max, num(counts[k])); });
    var rows = keys.map(function (k) {
      var n = num(counts[k]);
      var bar = h('span', { 'class': 'bar', 'aria-hidden': 'true' });
      bar.style.width = (max ? Math.round(n * 100 / max) : 0) + '%';
      return h('tr', { 'class': 'chart-row', 'data-key': k },
        h('th', { scope: 'row' }, labelFor ? labelFor(k) : k),
        h('td', { 'class': 'num chart-value' }, String(n)),
        h('td', { 'class': 'chart-bar' }, h('span', { 'class': 'bar-track' }, bar)));
    });
    return h('section', { 'class': 'card chart', id: id, 'aria-labelledby': id + '-title', 'data-testid': 'chart' },
      h('div', { 'class': 'card__header' }, h('h2', { 'class': 'heading-m', id: id + '-title' }, title)),
      rows.length ? table('chart-table', [what, ['Number', 'num'], h('span', { 'class': 'visually-hidden' }, 'Bar')], rows) : emptyNote('None.'));
  }

  function renderFigures(params, gen) {
    var region = (params.get('region') || '').toUpperCase();
    var root = clear($('figures'));
    fillFiguresSelect(region);
    var title = region ? 'Regional figures: ' + regionName(region) : 'Figures for the whole estate';
    $('figures-title').textContent = title;
    setTitle(title);
    setLoading(true);
    api('/v1/figures' + (region ? '?region=' + encodeURIComponent(region) : '')).then(function (f) {
      if (gen !== generation) {
        return;
      }
      setLoading(false);
      var rel = f.releases_due || {};
      var uw = f.unpaid_work || {};
      root.appendChild(h('p', { 'class': 'caption' }, 'As of ' + dash(fmtDate(f.as_of)) + '. ',
        h('a', { 'class': 'link', href: '/v1/figures?format=csv' + (region ? '&region=' + encodeURIComponent(region) : ''), download: 'figures.csv' },
          'Download these figures (CSV)')));
      root.appendChild(h('div', { 'class': 'stat-grid', id: 'figures-stats' },
        stat('People', num(f.persons), 'fig-persons'),
        stat('Releases due within 7 days', num(rel['7']), 'fig-rel-7'),
        stat('Releases due within 28 days', num(rel['28']), 'fig-rel-28'),
        stat('Releases due within 90 days', num(rel['90']), 'fig-rel-90'),
        stat('Unpaid work hours ordered', num(uw.hours_ordered), 'fig-uw-ordered'),
        stat('Unpaid work hours credited', num(uw.hours_credited), 'fig-uw-credited'),
        stat('Breaches open', num(f.breaches_open), 'fig-breaches', num(f.breaches_open) > 0),
        stat('Enforcement due', num(f.enforcement_due), 'fig-enforcement', num(f.enforcement_due) > 0),
        stat('Programme completions', num(f.programme_completions), 'fig-programmes')));
      var grid = h('div', { 'class': 'card-grid' });
      grid.appendChild(barChart('chart-supervision', 'Caseload by supervision type', 'Supervision', f.caseload_by_supervision,
        function (k) { return SUPERVISION_LABELS[k] || k; }));
      grid.appendChild(barChart('chart-tier', 'Caseload by tier', 'Tier', f.caseload_by_tier, function (k) { return k === 'NONE' ? 'Not tiered' : k; }));
      grid.appendChild(barChart('chart-prison', 'Population by prison', 'Prison', f.population_by_prison, prisonName));
      grid.appendChild(barChart('chart-releases', 'Releases due', 'Window', { '7': num(rel['7']), '28': num(rel['28']), '90': num(rel['90']) },
        function (k) { return 'Within ' + k + ' days'; }));
      grid.appendChild(barChart('chart-unpaid', 'Unpaid work (hours)', 'Hours', { ordered: num(uw.hours_ordered), credited: num(uw.hours_credited) }, words));
      grid.appendChild(barChart('chart-conflicts', 'Open conflicts by rule', 'Rule', f.conflicts_by_rule));
      root.appendChild(grid);
    }).catch(function (err) {
      setLoading(false);
      reportError(err, gen);
    });
  }

  /* ---- offender record ------------------------------------------------------ */

  function summaryList(rows, attrs) {
    var dl = h('dl', attrs || { 'class': 'summary-list' });
    if (!dl.className) {
      dl.className = 'summary-list';
    }
    rows.forEach(function (r) {
      if (!r) {
        return;
      }
      var value = r[1];
      if (value === null || value === undefined || value === '') {
        value = '\u2013';
      }
      dl.appendChild(h('dt', null, r[0]));
      dl.appendChild(h('dd', r[2] || null, value));
    });
    return dl;
  }

  function sourceLine(view, field) {
    var p = view.provenance && view.provenance[field];
    if (!p) {
      return null;
    }
    return h('span', { 'class': 'source', title: 'event ' + (p.event || '') },
      'Source: ' + (p.site || '?') + ', ' + eventLabel(p.type) + ', ' + (fmtTime(p.occurred_at) || ''));
  }

  function card(id, title, view, provField, body, wide) {
    return h('section', { 'class': 'card' + (wide ? ' card--wide' : ''), id: id, 'aria-labelledby': id + '-title' },
      h('div', { 'class': 'card__header' },
        h('h2', { 'class': 'heading-m', id: id + '-title' }, title),
        provField ? sourceLine(view, provField) : null),
      body);
  }

  /* A table; a heading given as [text, 'num'] is right-aligned like its column. */
  function table(cls, headings, rows) {
    return h('div', { 'class': 'table-wrap', tabindex: '0', role: 'region' }, h('table', { 'class': 'table ' + (cls || '') },
      h('thead', null, h('tr', null, headings.map(function (t) {
        return Array.isArray(t) ? h('th', { scope: 'col', 'class': t[1] }, t[0]) : h('th', { scope: 'col' }, t);
      }))),
      h('tbody', null, rows)));
  }

  function emptyNote(text) {
    return h('p', { 'class': 'empty' }, text);
  }

  function renderOffender(ref, gen) {
    var root = clear($('offender'));
    setTitle(ref);
    setLoading(true);
    var base = '/v1/offenders/' + encodeURIComponent(ref);
    var events = api(base + '/events').catch(function (err) { return err; });
    api(base).then(function (view) {
      return events.then(function (ev) {
        if (gen !== generation) {
          return;
        }
        setLoading(false);
        buildOffender(root, view, ev instanceof ApiError || ev instanceof Error ? null : ev, ev instanceof Error ? ev : null);
        setTitle(personName(view.name) + ' (' + (view.noms || view.crn || ref) + ')');
      });
    }).catch(function (err) {
      setLoading(false);
      if (gen !== generation) {
        return;
      }
      if (err && err.status === 404) {
        root.appendChild(h('h1', { 'class': 'heading-l', id: 'offender-not-found' }, 'No record found'));
        root.appendChild(h('p', null, 'This node holds no record for ' + ref + '. Check the NOMS number or CRN; a record created elsewhere may not have reached this node yet.'));
      }
      reportError(err, gen);
    });
  }

  function buildOffender(root, v, evResp, evError) {
    var conflicts = Array.isArray(v.conflicts) ? v.conflicts : [];
    var events = evResp && Array.isArray(evResp.events) ? evResp.events : [];
    var byId = {};
    events.forEach(function (e) { byId[e.id] = e; });
    var conflictRules = {};   /* event id -> [rule] */
    conflicts.forEach(function (c) {
      (c.events || []).forEach(function (id) {
        (conflictRules[id] = conflictRules[id] || []).push(c.rule);
      });
    });
    var timelineRows = {};    /* event id -> <tr> */

    root.appendChild(h('p', { 'class': 'caption' }, h('a', { href: '#/', 'class': 'link', id: 'back-link', onclick: function (e) {
      if (window.history.length > 1) {
        e.preventDefault();
        window.history.back();
      }
    } }, '\u2190 Back')));
    root.appendChild(banner(v, conflicts));
    if (conflicts.length) {
      root.appendChild(conflictPanel(conflicts, byId, timelineRows));
      announce((conflicts.length === 1 ? 'This record has a conflict that needs review: ' :
        'This record has ' + conflicts.length + ' conflicts that need review: ') +
        conflicts.map(function (c) { return c.rule || 'CONFLICT'; }).join(', ') + '.');
    }
    root.appendChild(datesStrip(v));

    var grid = h('div', { 'class': 'card-grid' });
    grid.appendChild(identityCard(v));
    grid.appendChild(custodyCard(v));
    grid.appendChild(managersCard(v));
    grid.appendChild(riskCard(v));
    grid.appendChild(licenceCard(v));
    grid.appendChild(alertsCard(v));
    grid.appendChild(programmesCard(v));
    grid.appendChild(sentencesCard(v));
    grid.appendChild(communityCard(v));
    grid.appendChild(planCard(v, conflictRules));
    grid.appendChild(offencesCard(v));
    grid.appendChild(registrationsCard(v));
    grid.appendChild(courtCard(v));
    grid.appendChild(movementsCard(v, conflictRules));
    grid.appendChild(timelineCard(v, events, evError, conflictRules, timelineRows));
    root.appendChild(grid);
  }

  function banner(v, conflicts) {
    var name = v.name || {};
    var initials = ((name.forenames || '').charAt(0) + (name.surname || '').charAt(0)) || '?';
    var age = ageOn(v.dob);
    var tags = h('div', { 'class': 'banner__tags' });
    if (v.legal_status) {
      tags.appendChild(tag(v.legal_status, 'blue', { id: 'offender-legal-status-tag' }));
    }
    if (v.recall) {
      tags.appendChild(tag('Recalled' + (v.recall_type ? ' (' + v.recall_type + ')' : ''), 'orange'));
    }
    if (v.deceased) {
      tags.appendChild(tag('Deceased ' + fmtDate(v.deceased), 'red'));
    }
    if (v.managers && v.managers.responsible) {
      tags.appendChild(tag('Responsible: ' + v.managers.responsible, 'purple'));
    }
    var activeAlerts = (v.alerts || []).filter(function (a) { return a.active; }).length;
    if (activeAlerts) {
      tags.appendChild(tag(activeAlerts + (activeAlerts === 1 ? ' active alert' : ' active alerts'), 'yellow'));
    }
    riskBadges(v.risk).forEach(function (t) { tags.appendChild(t); });
    if (conflicts.length) {
      tags.appendChild(tag(conflicts.length + (conflicts.length === 1 ? ' conflict to review' : ' conflicts to review'), 'red', { id: 'offender-conflict-tag' }));
    }
    var prisonText = v.prison ? prisonName(v.prison) : 'Not in custody' + (v.last_prison ? ' (last: ' + v.last_prison + ')' : '');
    return h('div', { 'class': 'banner' + (conflicts.length ? ' banner--conflict' : ''), id: 'offender-banner', 'data-testid': 'offender-banner' },
      h('div', { 'class': 'banner__photo', 'aria-hidden': 'true' }, initials.toUpperCase()),
      h('div', { 'class': 'banner__main' },
        h('h1', { 'class': 'banner__name', id: 'offender-name', 'data-surname': name.surname || '', 'data-forenames': name.forenames || '' },
          personName(v.name)),
        h('dl', { 'class': 'banner__facts' },
          fact('NOMS number', 'offender-noms', dash(v.noms), v.noms, true),
          fact('CRN', 'offender-crn', dash(v.crn), v.crn, true),
          fact('Date of birth', 'offender-dob', v.dob ? fmtDate(v.dob) + (age !== null ? ' (' + age + ')' : '') : '\u2013', v.dob),
          fact('Status', 'offender-status', v.status || 'Never in custody', v.status),
          fact('Prison', 'offender-prison', prisonText, v.prison)),
        tags));
  }

  function fact(label, id, text, raw, mono) {
    return h('div', { 'class': 'banner__fact' },
      h('dt', null, label),
      h('dd', { id: id, 'data-value': raw === null || raw === undefined ? '' : raw, 'class': mono ? 'mono' : null }, text));
  }

  function conflictPanel(conflicts, byId, timelineRows) {
    var panel = h('section', { id: 'conflicts', 'class': 'conflicts', role: 'region', 'aria-labelledby': 'conflicts-title', 'data-testid': 'conflicts' },
      h('h2', { 'class': 'conflicts__title', id: 'conflicts-title' },
        conflicts.length === 1 ? 'This record has a conflict that needs review' : 'This record has ' + conflicts.length + ' conflicts that need review'),
      h('p', null, 'Sites have reported facts that contradict each other. The record shows the later event, but nothing has been resolved: check the events below with the sites that recorded them, and correct the wrong one.'));
    conflicts.forEach(function (c) {
      var list = h('ul', { 'class': 'conflict__events' });
      (c.events || []).forEach(function (id) {
        var e = byId[id];
        list.appendChild(h('li', { 'data-event-id': id },
          e ? h('strong', null, eventTypeLabel(e)) : h('strong', null, 'Event'),
          e ? ' recorded by ' + e.site + ' (' + e.role + ', seq ' + e.seq + '), occurred ' + fmtTime(e.occurred_at) + ' ' : ' ',
          h('code', { title: id }, shortId(id)),
          ' ',
          h('button', { type: 'button', 'class': 'button button--secondary button--small', onclick: function () {
            var row = timelineRows[id];
            if (row) {
              row.scrollIntoView({ block: 'center' });
              row.classList.add('event--flash');
              row.focus({ preventScroll: true });
              setTimeout(function () { row.classList.remove('event--flash'); }, 2500);
            }
          } }, 'Show in timeline')));
      });
      panel.appendChild(h('div', { 'class': 'conflict', 'data-rule': c.rule || '', 'data-testid': 'conflict' },
        h('p', { 'class': 'conflict__rule' }, c.rule || 'CONFLICT'),
        h('p', { 'class': 'conflict__description' }, c.description || ''),
        list));
    });
    return panel;
  }

  function datesStrip(v) {
    var d = v.dates || {};
    var boxes = [
      ['release', 'Release date', d.release_date, d.release_date_type],
      ['crd', 'Conditional release date', d.crd, 'CRD'],
      ['sled', 'Sentence and licence expiry', d.sled, 'SLED'],
      ['ard', 'Automatic release date', d.ard, 'ARD'],
      ['sed', 'Sentence expiry date', d.sed, 'SED'],
      ['tused', 'Top-up supervision expiry', d.tused, 'TUSED'],
      ['hdced', 'Home detention curfew eligibility', d.hdced, 'HDCED'],
      ['ped', 'Parole eligibility date', d.ped, 'PED'],
      ['led', 'Licence expiry date', d.led, 'LED'],
      ['adjusted', 'Release on a working day', d.release_date_adjusted, null]
    ].filter(function (b) {
      /* HDCED, PED and LED apply to some sentences only: shown when set. */
      return ['hdced', 'ped', 'led'].indexOf(b[0]) < 0 || b[2];
    });
    var strip = h('section', { 'class': 'dates-strip', id: 'dates', 'aria-label': 'Release dates', 'data-testid': 'dates' });
    boxes.forEach(function (b) {
      strip.appendChild(h('div', { 'class': 'date-box' + (b[0] === 'release' ? ' date-box--primary' : '') },
        h('span', { 'class': 'date-box__label' },
          b[0] === 'release' ? h('span', { 'class': 'date-box__abbr' }, 'Release' + (b[3] ? ' (' + b[3] + ')' : '')) :
            b[3] ? h('abbr', { 'class': 'date-box__abbr', title: b[1] }, b[3]) : null,
          b[0] === 'release' ? null : (b[3] ? ' ' : '') + b[1]),
        h('span', { 'class': 'date-box__value' }, dateEl(b[2], { id: 'date-' + b[0] }))));
    });
    return strip;
  }

  function identityCard(v) {
    var name = v.name || {};
    var others = (v.identifiers || []).map(function (i) {
      return h('li', null, h('span', { 'class': 'mono' }, i.type + ' ' + i.value), h('span', { 'class': 'caption' }, ' added by ' + i.site));
    });
    return card('identity', 'Personal details', v, 'name', summaryList([
      ['Surname', name.surname, { id: 'identity-surname' }],
      ['Forenames', name.forenames, { id: 'identity-forenames' }],
      ['Date of birth', dateEl(v.dob, { id: 'identity-dob' })],
      ['Gender', v.gender, { id: 'identity-gender' }],
      ['NOMS number', v.noms, { id: 'identity-noms', 'class': 'mono' }],
      ['CRN', v.crn, { id: 'identity-crn', 'class': 'mono' }],
      ['PNC', v.pnc, { id: 'offender-pnc', 'class': 'mono' }],
      ['CRO', v.cro, { id: 'offender-cro', 'class': 'mono' }],
      v.deceased ? ['Date of death', dateEl(v.deceased, { id: 'identity-deceased' })] : null,
      Array.isArray(v.merged_from) && v.merged_from.length ? ['Merged from', h('ul', { 'class': 'plain-list', id: 'identity-merged' },
        v.merged_from.map(function (m) { return h('li', { 'class': 'mono' }, typeof m === 'string' ? m : scalarText(m)); }))] : null,
      ['Identifiers recorded', others.length ? h('ul', { 'class': 'plain-list' }, others) : null]
    ]));
  }

  function custodyCard(v) {
    var lm = v.last_movement;
    var lmText = lm ? (MOVEMENT_TYPES[lm.type] || lm.type) + ' \u2013 ' + (lm.reason || '') + ', ' + (fmtDate(lm.date) || '') +
      (lm.prison ? ' (' + lm.prison + ')' : '') : null;
    return card('custody', 'Custody and legal status', v, 'status', summaryList([
      ['Status', v.status || 'Never in custody', { id: 'custody-status' }],
      ['In or out', v.in_out],
      ['Current prison', v.prison ? prisonName(v.prison) : 'Not in custody', { id: 'custody-prison' }],
      ['Last prison', prisonName(v.last_prison)],
      ['Reception date', dateEl(v.reception_date)],
      ['Last movement', lmText],
      ['Legal status', v.legal_status, { id: 'offender-legal-status' }],
      ['Recall', v.recall ? 'Yes' + (v.recall_type ? ' (' + v.recall_type + ')' : '') : 'No'],
      ['Verdict date', dateEl(v.verdict_date)],
      ['Probation status', v.probation_status]
    ]));
  }

  function managersCard(v) {
    var m = v.managers || {};
    var pom = m.pom;
    var com = m.com;
    return card('managers', 'Offender management', v, 'com', h('div', null, summaryList([
      ['Responsible', m.responsible === 'POM' ? 'Prison offender manager (POM)' :
        m.responsible === 'COM' ? 'Community offender manager (COM)' : m.responsible, { id: 'responsible', 'data-value': m.responsible || '' }],
      ['POM', pom ? [h('strong', null, pom.name || pom.staff), h('br'), 'Staff ' + dash(pom.staff) + ', ' + dash(prisonName(pom.prison))] : 'Not allocated',
        { id: 'pom', 'data-staff': pom ? pom.staff || '' : '', 'data-name': pom ? pom.name || '' : '' }],
      ['COM', com ? [h('strong', null, com.name || com.staff), h('br'),
        'Staff ' + dash(com.staff) + ', team ' + dash(com.team) + ', PDU ' + dash(com.pdu) + ', ' + dash(regionName(com.region))] : 'Not allocated',
        { id: 'com', 'data-staff': com ? com.staff || '' : '', 'data-name': com ? com.name || '' : '' }],
      ['Handover date', dateEl(m.handover_date)]
    ])));
  }

  /* ---- risk, community sentences and the sentence plan ------------------------ */

  var REQUIREMENT_LABELS = {
    UNPAID_WORK: 'Unpaid work', RAR: 'Rehabilitation activity (RAR)', CURFEW: 'Curfew', PROGRAMME: 'Accredited programme',
    DRUG_REHABILITATION: 'Drug rehabilitation', ALCOHOL_TREATMENT: 'Alcohol treatment',
    MENTAL_HEALTH_TREATMENT: 'Mental health treatment', EXCLUSION: 'Exclusion', RESIDENCE: 'Residence',
    ALCOHOL_MONITORING: 'Alcohol abstinence and monitoring'
  };

  var ROSH_COLOURS = { LOW: 'green', MEDIUM: 'yellow', HIGH: 'orange', VERY_HIGH: 'red' };

  function words(code) {
    return typeof code === 'string' ? code.replace(/_/g, ' ').toLowerCase().replace(/^./, function (c) { return c.toUpperCase(); }) : code;
  }

  /* The banner's risk badges: RoSH level, MAPPA category and level, tier. */
  function riskBadges(risk) {
    var r = risk || {};
    var out = [];
    if (r.rosh) {
      out.push(tag('RoSH ' + words(r.rosh), ROSH_COLOURS[r.rosh] || 'grey', { id: 'badge-rosh', 'data-value': r.rosh }));
    }
    if (r.mappa) {
      out.push(tag('MAPPA category ' + dash(r.mappa.category) + ', level ' + dash(r.mappa.level), 'purple',
        { id: 'badge-mappa', 'data-value': (r.mappa.category || '') + '/' + (r.mappa.level || '') }));
    }
    if (r.tier) {
      out.push(tag('Tier ' + r.tier, 'blue', { id: 'badge-tier', 'data-value': r.tier }));
    }
    return out;
  }

  function riskCard(v) {
    var r = v.risk || {};
    var tc = r.tier_calculation || {};
    return card('risk', 'Risk and tier', v, 'risk', summaryList([
      ['Risk of serious harm (RoSH)', r.rosh ? tag(words(r.rosh), ROSH_COLOURS[r.rosh] || 'grey') : 'No RoSH registration', { id: 'risk-rosh', 'data-value': r.rosh || '' }],
      ['MAPPA', r.mappa ? 'Category ' + dash(r.mappa.category) + ', level ' + dash(r.mappa.level) +
        (r.mappa.registration_date ? ', registered ' + fmtDate(r.mappa.registration_date) : '') : 'Not a MAPPA case',
        { id: 'risk-mappa' }],
      ['Tier', r.tier ? [h('strong', null, r.tier), tc.calculation_date ? ' (calculated ' + fmtDate(tc.calculation_date) + ')' : null] : 'Not tiered',
        { id: 'risk-tier', 'data-value': r.tier || '' }]
    ]));
  }

  /* A progress bar with its numbers as text beside it, for each requirement. */
  function progressBar(done, required, unit, label) {
    var d = Math.max(0, num(done));
    var q = Math.max(0, num(required));
    var u = (unit || '').toLowerCase();
    return h('div', { 'class': 'progress' },
      h('progress', { max: String(q || 1), value: String(Math.min(d, q || 1)), 'aria-label': label }),
      h('span', { 'class': 'progress__text' }, d + ' of ' + q + (u ? ' ' + u : '') + ' done'));
  }

  function communityCard(v) {
    var orders = Array.isArray(v.community) ? v.community : [];
    if (!orders.length) {
      return card('community', 'Community sentences', v, 'community', emptyNote('No community sentence recorded.'), true);
    }
    var body = h('div', null);
    orders.forEach(function (o) {
      var c = o.compliance || {};
      var reqRows = (o.requirements || []).map(function (q) {
        return h('tr', { 'class': 'requirement', 'data-requirement-id': q.requirement_id || '', 'data-category': q.category || '' },
          h('td', null, h('strong', null, REQUIREMENT_LABELS[q.category] || words(q.category)), h('div', { 'class': 'mono caption' }, dash(q.requirement_id))),
          h('td', null, progressBar(q.completed, q.required, q.unit, (REQUIREMENT_LABELS[q.category] || words(q.category)) + ' progress')),
          h('td', null, q.status ? tag(words(q.status), q.status === 'COMPLETED' ? 'green' : q.status === 'ACTIVE' ? 'blue' : 'grey') : '\u2013'));
      });
      var breaches = (c.breaches || []).map(function (b) {
        return h('li', null, 'Breach ' + dash(b.breach_id) + ' initiated ' + dash(fmtDate(b.breach_date)) +
          (b.reason ? ': ' + b.reason : '') + (b.outcome ? ' \u2013 concluded ' + dash(fmtDate(b.conclusion_date)) + ', ' + words(b.outcome) : ' \u2013 open'));
      });
      var flags = h('div', { 'class': 'banner__tags' },
        c.in_breach ? tag('In breach', 'red', { 'class': 'compliance-breach' }) : null,
        c.enforcement_due ? tag('Enforcement due', 'orange', { 'class': 'compliance-due' }) : null,
        !c.in_breach && !c.enforcement_due ? tag('Complying', 'green') : null);
      body.appendChild(h('div', { 'class': 'order', 'data-sentence-id': o.sentence_id || '', 'data-testid': 'community-order' },
        h('h3', { 'class': 'heading-s' }, (o.sentence_type === 'SSO' ? 'Suspended sentence order ' : o.sentence_type === 'COMMUNITY_ORDER' ? 'Community order ' : words(o.sentence_type) + ' ') + dash(o.sentence_id),
          ' ', o.status ? tag(words(o.status), o.status === 'ACTIVE' ? 'green' : 'grey') : null),
        summaryList([
          ['Start date', dateEl(o.start_date)],
          ['End date', dateEl(o.end_date)]
        ]),
        reqRows.length ? table('requirements-table', ['Requirement', 'Progress', 'Status'], reqRows) : emptyNote('No requirements recorded.'),
        h('h4', { 'class': 'heading-s' }, 'Compliance and enforcement'),
        flags,
        summaryList([
          ['Failures to comply', String(num(c.failures_to_comply)), { 'class': 'compliance-failures' }],
          ['Warnings', String(num(c.warnings)), { 'class': 'compliance-warnings' }],
          ['Last warning', dateEl(c.last_warning_date)],
          ['Breaches', breaches.length ? h('ul', { 'class': 'plain-list' }, breaches) : 'None']
        ])));
    });
    return card('community', 'Community sentences', v, 'community', body, true);
  }

  var GOAL_COLOURS = { ACTIVE: 'blue', FUTURE: 'grey', ACHIEVED: 'green', REMOVED: 'grey' };
  var STEP_COLOURS = { NOT_STARTED: 'grey', IN_PROGRESS: 'blue', COMPLETED: 'green', CANNOT_BE_DONE_YET: 'yellow', NO_LONGER_NEEDED: 'grey' };

  /* The status changes of a goal or step: who changed what; concurrent edits flagged. */
  function updatesList(updates, conflictRules) {
    if (!updates || !updates.length) {
      return null;
    }
    return h('ul', { 'class': 'plain-list plan__updates' }, updates.map(function (u) {
      var rules = conflictRules[u.event] || [];
      return h('li', { 'data-event-id': u.event || '', 'class': u.concurrent ? 'plan__update--conflict' : null },
        dash(fmtDate(u.date)) + ': ' + words(u.previous_status || '?') + ' \u2192 ' + words(u.status) + ' by ' + dash(u.site) +
        (u.note ? ' (' + u.note + ')' : '') + ' ',
        u.concurrent || rules.length ? tag(rules.length ? rules.join(', ') : 'PLAN_CONCURRENT_UPDATE', 'red') : null);
    }));
  }

  function planCard(v, conflictRules) {
    var p = v.plan || {};
    var goals = Array.isArray(p.goals) ? p.goals : [];
    if (!goals.length && !p.agreement && !(p.reviews || []).length) {
      return card('plan', 'Sentence plan', v, 'plan', emptyNote('No sentence plan recorded.'), true);
    }
    var areas = [];
    var byArea = {};
    goals.forEach(function (g) {
      var a = g.area_of_need || 'OTHER';
      if (!byArea[a]) {
        byArea[a] = [];
        areas.push(a);
      }
      byArea[a].push(g);
    });
    var body = h('div', null);
    var ag = p.agreement;
    body.appendChild(summaryList([
      ['Agreement', ag ? [tag(words(ag.agreement_status), ag.agreement_status === 'AGREED' ? 'green' : 'yellow'),
        ' ' + dash(fmtDate(ag.date)) + ', recorded by ' + dash(ag.site) + (ag.note ? ' (' + ag.note + ')' : '')] : 'Not yet agreed',
        { id: 'plan-agreement', 'data-value': ag ? ag.agreement_status || '' : '' }]
    ]));
    areas.forEach(function (a) {
      body.appendChild(h('h3', { 'class': 'heading-s plan__area', 'data-area': a }, words(a)));
      byArea[a].forEach(function (g) {
        var steps = (g.steps || []).map(function (st) {
          return h('tr', { 'class': 'plan-step', 'data-step-id': st.step_id || '' },
            h('td', null, dash(st.description), updatesList(st.updates, conflictRules)),
            h('td', null, words(st.actor)),
            h('td', null, st.status ? tag(words(st.status), STEP_COLOURS[st.status] || 'grey') : '\u2013'),
            h('td', { 'class': 'plan-site' }, dash(st.site)));
        });
        body.appendChild(h('div', { 'class': 'plan__goal', 'data-goal-id': g.goal_id || '', 'data-area': a, 'data-testid': 'plan-goal' },
          h('p', { 'class': 'plan__goal-title' }, h('strong', null, dash(g.title)), ' ',
            g.status ? tag(words(g.status), GOAL_COLOURS[g.status] || 'grey', { 'class': 'plan-goal-status' }) : null),
          h('p', { 'class': 'caption' }, 'Goal ' + dash(g.goal_id) + ', written by ' + dash(g.site) +
            (g.target_date ? ', target ' + fmtDate(g.target_date) : '')),
          updatesList(g.updates, conflictRules),
          steps.length ? table('plan-steps', ['Step', 'Who', 'Status', 'Written by'], steps) : emptyNote('No steps yet.')));
      });
    });
    var reviews = (p.reviews || []).map(function (r) {
      return h('tr', { 'class': 'plan-review' }, h('td', null, dateEl(r.date)), h('td', null, words(r.review_type)), h('td', null, dash(r.site)),
        h('td', null, dash(r.support_needed)), h('td', null, r.involved ? 'Yes' : 'No'), h('td', null, dash(r.note)));
    });
    body.appendChild(h('h3', { 'class': 'heading-s' }, 'Reviews'));
    body.appendChild(reviews.length ? table('plan-reviews', ['Date', 'Review', 'By', 'Support needed', 'Person involved', 'Note'], reviews) :
      emptyNote('No reviews yet.'));
    return card('plan', 'Sentence plan', v, 'plan', body, true);
  }

  function licenceCard(v) {
    var l = v.licence;
    if (!l) {
      return card('licence', 'Licence', v, 'licence', emptyNote('No licence recorded.'));
    }
    var conds = (l.conditions || []).map(function (c) { return h('li', null, c); });
    return card('licence', 'Licence', v, 'licence', summaryList([
      ['Status', tag(l.status || 'UNKNOWN', l.status === 'ACTIVE' ? 'green' : l.status === 'REVOKED' ? 'red' : 'grey', { id: 'licence-status' })],
      ['Type', l.licence_type],
      ['Licence', l.licence_id],
      ['Start date', dateEl(l.start_date)],
      ['Expiry date', dateEl(l.expiry_date)],
      ['Conditions', conds.length ? h('ul', { 'class': 'plain-list' }, conds) : 'None recorded']
    ]));
  }

  function sentencesCard(v) {
    var rows = (v.sentences || []).map(function (s) {
      return h('tr', { 'class': 'sentence', 'data-sentence-id': s.sentence_id || '' },
        h('td', { 'class': 'mono' }, dash(s.sentence_id)),
        h('td', null, dash(s.sentence_type)),
        h('td', null, dash(term(s.term)), s.length_days ? h('div', { 'class': 'caption' }, s.length_days + ' days') : null),
        h('td', null, dateEl(s.sentence_date)),
        h('td', null, dash(s.court)),
        h('td', null, dateEl(s.crd)),
        h('td', null, dateEl(s.sled)),
        h('td', null, dateEl(s.ard)),
        h('td', null, dateEl(s.sed)),
        h('td', null, dateEl(s.tused)),
        h('td', null, s.status ? tag(s.status, s.status === 'ACTIVE' ? 'green' : 'grey') : '\u2013'));
    });
    var a = v.adjustments || {};
    var adj = summaryList([
      ['Remand', (a.remand || 0) + ' days'],
      ['Tagged bail', (a.tagged_bail || 0) + ' days'],
      ['Unlawfully at large', (a.unlawfully_at_large || 0) + ' days'],
      ['Additional days awarded', (a.additional_days_awarded || 0) + ' days'],
      ['Restored days (RADA)', (a.restoration_of_additional_days_awarded || 0) + ' days']
    ], { id: 'adjustments', 'class': 'summary-list' });
    return card('sentences', 'Sentences and release dates', v, 'sentences', h('div', null,
      rows.length ? table('sentences-table', ['Sentence', 'Type', 'Term', 'Date', 'Court', 'CRD', 'SLED', 'ARD', 'SED', 'TUSED', 'Status'], rows) :
        emptyNote('No sentence recorded.'),
      h('h3', { 'class': 'heading-s' }, 'Adjustments'),
      adj), true);
  }

  function offencesCard(v) {
    var rows = (v.offences || []).map(function (o) {
      return h('tr', null, h('td', { 'class': 'mono' }, dash(o.code)), h('td', null, dash(o.description)), h('td', null, dateEl(o.offence_date)));
    });
    return card('offences', 'Offences', v, null, rows.length ? table('', ['Code', 'Offence', 'Date'], rows) : emptyNote('No offences recorded.'));
  }

  function alertsCard(v) {
    var rows = (v.alerts || []).map(function (a) {
      return h('tr', { 'class': 'alert' + (a.active ? ' alert--active' : '') },
        h('td', { 'class': 'mono' }, dash(a.alert_type) + '/' + dash(a.alert_code)),
        h('td', null, dateEl(a.from_date)),
        h('td', null, dateEl(a.to_date)),
        h('td', null, a.active ? tag('Active', 'yellow') : tag('Closed', 'grey')));
    });
    return card('alerts', 'Alerts', v, 'alerts', rows.length ? table('', ['Alert', 'From', 'To', ''], rows) : emptyNote('No alerts.'));
  }

  function programmesCard(v) {
    var rows = (v.programmes || []).map(function (p) {
      return h('tr', { 'class': 'programme' },
        h('td', null, h('strong', null, dash(p.programme))),
        h('td', null, dash(p.setting)),
        h('td', null, p.status ? tag(p.status, p.status === 'COMPLETED' ? 'green' : 'blue') : '\u2013'),
        h('td', null, dateEl(p.referral_date)),
        h('td', null, dateEl(p.completion_date)));
    });
    return card('programmes', 'Programmes', v, 'programmes', rows.length ? table('', ['Programme', 'Setting', 'Status', 'Referred', 'Completed'], rows) :
      emptyNote('No programmes.'));
  }

  function registrationsCard(v) {
    var rows = (v.registrations || []).map(function (r) {
      return h('tr', null, h('td', null, dash(r.register_type)), h('td', null, dateEl(r.registration_date)),
        h('td', null, r.active ? tag('Active', 'yellow') : tag('Removed', 'grey')));
    });
    return card('registrations', 'Registrations', v, null, rows.length ? table('', ['Register', 'Date', ''], rows) : emptyNote('No registrations.'));
  }

  function courtCard(v) {
    var rows = (v.court_appearances || []).map(function (c) {
      return h('tr', null, h('td', null, dateEl(c.appearance_date)), h('td', null, dash(c.court)), h('td', null, dash(c.outcome)),
        h('td', null, dateEl(c.next_hearing_date)), h('td', { 'class': 'mono' }, dash(c.case_ref)));
    });
    return card('court-appearances', 'Court appearances', v, null, rows.length ?
      table('', ['Date', 'Court', 'Outcome', 'Next hearing', 'Case'], rows) : emptyNote('No court appearances recorded.'));
  }

  function movementsCard(v, conflictRules) {
    var rows = (v.movements || []).map(function (m) {
      var rules = conflictRules[m.event] || [];
      return h('tr', { 'class': 'movement' + (rules.length ? ' event--conflict' : ''), 'data-event-id': m.event || '' },
        h('td', null, dateEl(m.date)),
        h('td', null, MOVEMENT_TYPES[m.type] ? MOVEMENT_TYPES[m.type] + ' (' + m.type + ')' : dash(m.type)),
        h('td', null, dash(m.from)),
        h('td', null, dash(m.to)),
        h('td', null, dash(m.reason), rules.length ? [' ', tag('conflict', 'red', { title: rules.join(', ') })] : null));
    });
    return h('section', { 'class': 'card card--wide timeline', id: 'movements', 'aria-labelledby': 'movements-title' },
      h('div', { 'class': 'card__header' }, h('h2', { 'class': 'heading-m', id: 'movements-title' }, 'Movements'), sourceLine(v, 'prison')),
      rows.length ? table('', ['Date', 'Movement', 'From', 'To', 'Reason'], rows) : emptyNote('No movements recorded.'));
  }

  function payloadList(p) {
    if (p === null || p === undefined) {
      return h('span', { 'class': 'empty' }, 'Payload erased');
    }
    var keys = Object.keys(p);
    if (!keys.length) {
      return h('span', { 'class': 'empty' }, 'No details');
    }
    var dl = h('dl', { 'class': 'payload' });
    keys.forEach(function (k) {
      dl.appendChild(h('dt', null, k));
      dl.appendChild(h('dd', null, scalarText(p[k])));
    });
    return dl;
  }

  function timelineCard(v, events, evError, conflictRules, timelineRows) {
    var section = h('section', { 'class': 'card card--wide timeline', id: 'timeline', 'aria-labelledby': 'timeline-title', 'data-testid': 'timeline' },
      h('div', { 'class': 'card__header' },
        h('h2', { 'class': 'heading-m', id: 'timeline-title' }, 'Event timeline'),
        h('span', { 'class': 'source' }, (events.length || v.event_count || 0) + ' signed events, in the order they are applied')));
    if (evError) {
      section.appendChild(h('p', { 'class': 'error-inline', role: 'alert' }, 'The timeline could not be loaded: ' + evError.message));
      return section;
    }
    if (!events.length) {
      section.appendChild(emptyNote('No events.'));
      return section;
    }
    var corrected = {};
    (v.corrected || []).forEach(function (id) { corrected[id] = true; });
    var rows = events.map(function (e, i) {
      var rules = conflictRules[e.id] || [];
      var sig = e.signature === 'valid' ? tag('Valid', 'green', { 'class': 'event__signature' }) :
        tag(e.signature ? String(e.signature) : 'unknown', 'red', { 'class': 'event__signature' });
      var sets = (e.sets || []).map(function (f) { return tag(FIELD_LABELS[f] || f, 'grey', { 'data-field': f }); });
      var row = h('tr', {
        'class': 'event' + (rules.length ? ' event--conflict' : '') + (corrected[e.id] ? ' event--withdrawn' : ''),
        'data-event-id': e.id || '',
        'data-type': unknownType(e) ? 'unknown' : e.type || '',
        'data-signature': e.signature || '',
        'data-testid': 'event',
        tabindex: '-1'
      },
        h('td', { 'class': 'num caption' }, String(i + 1)),
        h('td', null, h('time', { datetime: e.occurred_at || '' }, fmtTime(e.occurred_at) || '\u2013'),
          h('div', { 'class': 'caption' }, 'recorded ' + (fmtTime(e.recorded_at) || '\u2013'))),
        h('td', null,
          h('div', { 'class': 'event__type' }, eventTypeLabel(e)),
          h('div', { 'class': 'mono caption' }, unknownType(e) ? 'not known to this release' : e.type),
          h('div', { 'class': 'event__id mono', title: e.id || '' }, shortId(e.id)),
          rules.length ? rules.map(function (r) { return tag(r, 'red', { 'class': 'event__conflict' }); }) : null,
          corrected[e.id] ? tag('Withdrawn by correction', 'grey') : null),
        h('td', null, h('strong', { 'class': 'event__site' }, dash(e.site)), h('div', { 'class': 'caption' }, dash(e.role) + ', seq ' + dash(e.seq))),
        h('td', null, sig),
        h('td', { 'class': 'event__sets' }, sets.length ? sets : h('span', { 'class': 'caption' }, '\u2013')),
        h('td', null, h('details', null, h('summary', null, 'Details'),
          unknownType(e) ? h('span', { 'class': 'empty' }, 'Not readable by this release') : payloadList(e.payload))));
      timelineRows[e.id] = row;
      return row;
    });
    section.appendChild(table('timeline-table', [['#', 'num'], 'Occurred', 'Event', 'Site', 'Signature', 'Fields set', ''], rows));
    return section;
  }

  /* ---- node status ------------------------------------------------------------- */

  var STATE_COLOURS = { live: 'green', syncing: 'blue', handshake: 'yellow', down: 'red' };

  function stat(label, value, id, warn) {
    return h('div', { 'class': 'stat' + (warn ? ' stat--warn' : '') },
      h('span', { 'class': 'stat__label' }, label),
      h('span', { 'class': 'stat__value', id: id }, String(value)));
  }

  function ago(ms) {
    if (ms === null || ms === undefined || ms < 0) {
      return 'never';
    }
    if (ms < 1000) {
      return ms + ' ms ago';
    }
    if (ms < 120000) {
      return (ms / 1000).toFixed(1) + ' s ago';
    }
    if (ms < 7200000) {
      return Math.round(ms / 60000) + ' min ago';
    }
    return (ms / 3600000).toFixed(1) + ' h ago';
  }

  function num(v) {
    return typeof v === 'number' ? v : v ? Number(v) || 0 : 0;
  }

  function renderStatus(gen, first) {
    if (first) {
      setLoading(true);
    }
    api('/v1/status').then(function (st) {
      if (gen !== generation) {
        return;
      }
      setLoading(false);
      nodeStatus = st;
      updateBadge(st);
      buildStatus(clear($('status')), st);
      scheduleStatus(gen);
    }).catch(function (err) {
      setLoading(false);
      reportError(err, gen);
    });
  }

  function scheduleStatus(gen) {
    if (statusTimer) {
      clearTimeout(statusTimer);
    }
    statusTimer = statusPaused ? null : setTimeout(function () {
      statusTimer = null;
      if (gen === generation) {
        renderStatus(gen, false);
      }
    }, STATUS_REFRESH_MS);
  }

  function onStatusPause() {
    statusPaused = !statusPaused;
    var b = $('status-pause');
    b.setAttribute('aria-pressed', statusPaused ? 'true' : 'false');
    b.textContent = statusPaused ? 'Resume updates' : 'Pause updates';
    $('status-refresh-note').textContent = statusPaused ? 'Updates are paused.' : 'This page updates itself every 5 seconds.';
    if (statusPaused) {
      clearTimeout(statusTimer);
      statusTimer = null;
    } else {
      renderStatus(generation, false);
    }
  }

  function buildStatus(root, st) {
    var peers = Array.isArray(st.peers) ? st.peers : [];
    var counters = st.counters || {};
    var rejectedTotal = 0;
    Object.keys(counters).forEach(function (k) {
      if (k.indexOf('rejected') === 0) {
        rejectedTotal += num(counters[k]);
      }
    });
    var live = peers.filter(function (p) { return p.state === 'live'; }).length;
    var vector = st.vector || {};
    var origins = Object.keys(vector);
    var quarantined = origins.filter(function (k) { return vector[k] && vector[k].quarantined; }).length;
    setTitle('Node status ' + (st.site || ''));

    root.appendChild(h('h1', { 'class': 'heading-l', id: 'node-title' }, 'Node status: ',
      h('span', { id: 'node-site' }, dash(st.site)), ' ', h('span', { 'class': 'secondary', id: 'node-role' }, st.role ? '(' + st.role + ')' : '')));
    root.appendChild(h('p', { 'class': 'refreshed' }, 'Updated ' + new Date().toLocaleTimeString('en-GB') + '; refreshes every ' + STATUS_REFRESH_MS / 1000 + ' seconds.'));
    root.appendChild(h('div', { 'class': 'stat-grid' },
      stat('Events held', num(st.events), 'node-events'),
      stat('People', num(st.persons), 'node-persons'),
      stat('Open conflicts', num(st.conflicts_open), 'node-conflicts', num(st.conflicts_open) > 0),
      stat('Peers live', live + ' of ' + peers.length, 'node-peers-live', live < peers.length),
      stat('Events refused', rejectedTotal, 'node-rejected', rejectedTotal > 0),
      stat('Quarantined origins', quarantined, 'node-quarantined', quarantined > 0)));

    /* Peers. */
    var peerRows = peers.map(function (p) {
      var behind = num(p.behind_events);
      var bad = p.state === 'down' || num(p.rejected_events) > 0;
      return h('tr', {
        'class': 'peer' + (bad ? ' row--bad' : behind > 0 ? ' row--warn' : ''),
        'data-site': p.site || '',
        'data-state': p.state || '',
        'data-testid': 'peer'
      },
        h('td', null, h('strong', { 'class': 'peer-site' }, dash(p.site))),
        h('td', null, dash(p.direction)),
        h('td', { 'class': 'mono' }, dash(p.endpoint)),
        h('td', null, tag(p.state || 'unknown', STATE_COLOURS[p.state] || 'grey', { 'class': 'peer-state' })),
        h('td', null, ago(p.last_contact_ms_ago)),
        h('td', { 'class': 'num peer-behind-events' }, String(behind)),
        h('td', { 'class': 'num' }, num(p.behind_seconds).toFixed(1) + ' s'),
        h('td', { 'class': 'num' }, String(num(p.sent_events))),
        h('td', { 'class': 'num' }, String(num(p.received_events))),
        h('td', { 'class': 'num peer-rejected' }, String(num(p.rejected_events))));
    });
    root.appendChild(h('section', { 'class': 'card card--wide status-card', id: 'peers', 'aria-labelledby': 'peers-title', 'data-testid': 'peers' },
      h('div', { 'class': 'card__header' }, h('h2', { 'class': 'heading-m', id: 'peers-title' }, 'Peers')),
      peerRows.length ? table('', ['Site', 'Direction', 'Endpoint', 'State', 'Last contact', ['Behind (events)', 'num'],
        ['Behind (time)', 'num'], ['Sent', 'num'], ['Received', 'num'], ['Refused', 'num']], peerRows) :
        emptyNote('No peers connected. Sites dial in to a hub; check [peers] in the configuration.')));

    /* Version vector: per origin, what this node holds. */
    origins.sort(function (a, b) { return String(vector[a].site).localeCompare(String(vector[b].site)); });
    var vecRows = origins.map(function (k) {
      var o = vector[k] || {};
      return h('tr', { 'class': 'origin' + (o.quarantined ? ' row--bad' : num(o.held) > 0 ? ' row--warn' : ''), 'data-origin': k, 'data-site': o.site || '' },
        h('td', null, h('strong', null, dash(o.site))),
        h('td', null, dash(o.role)),
        h('td', { 'class': 'num origin-seq' }, String(num(o.seq))),
        h('td', { 'class': 'num' }, String(num(o.held))),
        h('td', null, o.quarantined ? tag('Quarantined', 'red') : tag('Trusted', 'green')),
        h('td', { 'class': 'mono', title: o.head || '' }, shortId(o.head)),
        h('td', { 'class': 'mono', title: k }, shortId(k)));
    });
    root.appendChild(h('section', { 'class': 'card card--wide status-card', id: 'vector', 'aria-labelledby': 'vector-title' },
      h('div', { 'class': 'card__header' }, h('h2', { 'class': 'heading-m', id: 'vector-title' }, 'Events held by origin (version vector)')),
      vecRows.length ? table('', ['Origin site', 'Role', ['Highest sequence', 'num'], ['Held (waiting)', 'num'], 'Trust', 'Head event', 'Origin key'], vecRows) :
        emptyNote('No events held yet.')));

    /* Counters: rejections by reason first. */
    var names = Object.keys(counters).sort(function (a, b) {
      var ra = a.indexOf('rejected') === 0 ? 0 : 1;
      var rb = b.indexOf('rejected') === 0 ? 0 : 1;
      return ra - rb || a.localeCompare(b);
    });
    /* Transport refusals come from the daemon (top level, or under "daemon"). */
    var daemon = st.daemon && typeof st.daemon === 'object' ? st.daemon : {};
    var transport = {};
    ['connections_refused', 'frames_rejected', 'folds_pending', 'ids_pending', 'roster_changes_applied'].forEach(function (k) {
      if (st[k] !== undefined) {
        transport[k] = st[k];
      } else if (daemon[k] !== undefined) {
        transport[k] = daemon[k];
      }
    });
    var extra = Object.keys(transport);
    var counterRows = names.map(function (k) {
      var bad = k.indexOf('rejected') === 0 && num(counters[k]) > 0;
      return h('tr', { 'class': 'counter' + (bad ? ' row--bad' : ''), 'data-counter': k },
        h('td', { 'class': 'mono' }, k), h('td', { 'class': 'num' }, String(num(counters[k]))));
    }).concat(extra.map(function (k) {
      return h('tr', { 'class': 'counter' + (num(transport[k]) > 0 ? ' row--warn' : ''), 'data-counter': k },
        h('td', { 'class': 'mono' }, k), h('td', { 'class': 'num' }, String(num(transport[k]))));
    }));
    if (st.appends_held || daemon.appends_held) {
      root.appendChild(h('section', { 'class': 'card card--wide status-card', id: 'held', 'data-testid': 'held' },
        h('p', null, tag('Appends held', 'red'), ' This node was restored from a backup: it accepts no new events ' +
          'until it has caught up its own events from its peers (docs/OPERATIONS.md, restore).')));
    }
    root.appendChild(h('section', { 'class': 'card card--wide status-card', id: 'counters', 'aria-labelledby': 'counters-title' },
      h('div', { 'class': 'card__header' }, h('h2', { 'class': 'heading-m', id: 'counters-title' }, 'Counters')),
      h('p', { 'class': 'hint' }, 'rejected.signature: forged or damaged; rejected.role: a site sent an event type its role may not emit; ' +
        'rejected.equivocation / rejected.quarantined: an origin signed two different histories and is quarantined; ' +
        'rejected.invalid: payload rules; rejected.unknown_origin: not in the roster; ' +
        'rejected.upgrade: events of a type new to this release, stored before the upgrade, that break its rules (kept, not shown in records); ' +
        'folds_pending: records whose rebuild was deferred during a catch-up (read correctly meanwhile); ' +
        'ids_pending: events of a catch-up not yet in the id index (found by a slower scan meanwhile); ' +
        'roster_changes_applied: changes signed by the roster authority.'),
      counterRows.length ? table('', ['Counter', ['Value', 'num']], counterRows) : emptyNote('No counters.')));
  }

  function updateBadge(st) {
    if (!st || !st.site) {
      return;
    }
    $('node-badge-site').textContent = st.site;
    $('node-badge-role').textContent = st.role || '';
    $('node-badge').hidden = false;
  }

  /* The signed-in user in the header; hide what their roles do not allow. */
  function applyWhoami(me) {
    whoami = me;
    $('user-badge-name').textContent = me.name || me.user || '';
    $('user-badge-roles').textContent = (me.roles || []).map(function (r) {
      return r.replace(/^ROLE_NOMSYNC_/, '');
    }).join(', ') || 'no roles';
    $('user-badge').hidden = false;
    var links = document.querySelectorAll('.header__nav a[data-route]');
    for (var i = 0; i < links.length; i++) {
      links[i].hidden = !mayUse(links[i].getAttribute('data-route'));
    }
    $('search-form').hidden = !mayUse('search');
  }

  function loadWhoami() {
    return api('/v1/whoami').then(applyWhoami).catch(function () { /* everything shown; the server still decides */ });
  }

  /* ---- start ------------------------------------------------------------------- */

  /* Fetch the display names (see PRISONS above); resolves when done or failed. */
  function loadNames() {
    return Promise.all([
      api('/v1/refdata').then(function (ref) {
        PRISONS = ref.prisons || {};
        REGIONS = ref.regions || {};
      }),
      api('/v1/catalogue').then(function (cat) {
        var labels = {};
        (cat.types || []).forEach(function (t) { labels[t.name] = t.label; });
        EVENT_LABELS = labels;
      })
    ]).catch(function () { /* codes are shown instead of names */ });
  }

  function start() {
    $('search-form').addEventListener('submit', onSearch);
    $('caseload-form').addEventListener('submit', onCaseload);
    $('mycaseload-form').addEventListener('submit', onMyCaseload);
    $('releases-form').addEventListener('submit', onReleases);
    $('figures-form').addEventListener('submit', onFigures);
    var me = loadWhoami();
    me.then(function () {
      return mayUse('status') ? api('/v1/status') : Promise.reject(null);
    }).then(function (st) {
      nodeStatus = st;
      updateBadge(st);
      if (parseHash().name === 'caseload') {
        var sel = $('caseload-select');
        fillCaseloadSelect(sel.value);
      } else if (parseHash().name === 'releases') {
        fillCaseloadSelect($('releases-select').value, $('releases-select'));
      }
    }).catch(function () { /* shown when a page needs it */ });
    $('skip-link').addEventListener('click', onSkipLink);
    $('status-pause').addEventListener('click', onStatusPause);
    new MutationObserver(afterDraw).observe($('main'), { childList: true, subtree: true, attributes: true, attributeFilter: ['hidden'] });
    Promise.all([loadNames(), me]).then(function () {
      window.addEventListener('hashchange', onHashChange);
      route();
      afterDraw();
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}());
