/*
 * The NATS link: options and credentials, the connection (kept up by
 * libnats, which reconnects forever), the streams, and the module's
 * lifecycle (see nomsync/nats.h).
 */
#include "nats/nats_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void ns__nats_log(ns_nats *n, int level, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (n->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n->log(n->log_arg, level, line);
}

int64_t ns__nats_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ns__nats_up(ns_nats *n)
{
	pthread_mutex_lock(&n->lock);
	int up = n->st.connected;
	if (!up)
		ns__nats_wait(n, 200);
	pthread_mutex_unlock(&n->lock);
	return up;
}

void ns__nats_wait(ns_nats *n, int64_t ms)
{
	struct timespec ts;
	if (n->stop)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&n->cond, &n->lock, &ts);
}

static void ns__set_connected(ns_nats *n, int up)
{
	pthread_mutex_lock(&n->lock);
	n->st.connected = up;
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->lock);
}

static void ns__on_connected(natsConnection *nc, void *closure)
{
	ns_nats *n = closure;
	char url[256] = "";
	natsConnection_GetConnectedUrl(nc, url, sizeof(url));
	ns__nats_log(n, NS_LOG_INFO, "NATS: connected to %s", url);
	ns__set_connected(n, 1);
}

static void ns__on_disconnected(natsConnection *nc, void *closure)
{
	(void)nc;
	ns__nats_log(closure, NS_LOG_WARN, "NATS: disconnected; reconnecting");
	ns__set_connected(closure, 0);
}

static void ns__on_closed(natsConnection *nc, void *closure)
{
	ns_nats *n = closure;

	(void)nc;
	pthread_mutex_lock(&n->lock);
	n->st.connected = 0;
	n->closed = 1;
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->lock);
}

/* A libnats failure as NS_ENATS with its text. */
static int ns__fail(ns_diag *d, const char *what, natsStatus s)
{
	const char *last = nats_GetLastError(NULL);
	return ns_diag_set(d, NS_ENATS, "nats", "%s: %s%s%s", what, natsStatus_GetText(s), last && *last ? ": " : "",
			   last ? last : "");
}

static int ns__options(ns_nats *n, ns_diag *d)
{
	const ns_nats_conf *c = &n->conf;
	char urls[sizeof(c->url)], *list[32], *save = NULL;
	int nurls = 0;
	natsStatus s;

	snprintf(urls, sizeof(urls), "%s", c->url);
	for (char *t = strtok_r(urls, ", ", &save); t && nurls < 32; t = strtok_r(NULL, ", ", &save))
		list[nurls++] = t;
	if (nurls == 0)
		return ns_diag_set(d, NS_EINVAL, "nats", "[nats] url names no server");
	if ((s = natsOptions_Create(&n->opts)) != NATS_OK)
		return ns__fail(d, "options", s);
	if ((s = natsOptions_SetServers(n->opts, (const char **)list, nurls)) != NATS_OK)
		return ns__fail(d, "[nats] url", s);
	natsOptions_SetName(n->opts, "nomsyncd");
	natsOptions_SetMaxReconnect(n->opts, -1);
	natsOptions_SetReconnectWait(n->opts, 500);
	natsOptions_SetReconnectBufSize(n->opts, 64 * 1024 * 1024);
	natsOptions_SetRetryOnFailedConnect(n->opts, true, ns__on_connected, n);
	natsOptions_SetReconnectedCB(n->opts, ns__on_connected, n);
	natsOptions_SetDisconnectedCB(n->opts, ns__on_disconnected, n);
	natsOptions_SetClosedCB(n->opts, ns__on_closed, n);
	if (c->user[0] && (s = natsOptions_SetUserInfo(n->opts, c->user, c->password)) != NATS_OK)
		return ns__fail(d, "[nats] user", s);
	if (c->token[0] && (s = natsOptions_SetToken(n->opts, c->token)) != NATS_OK)
		return ns__fail(d, "[nats] token", s);
	if (c->nkey[0] && (s = natsOptions_SetNKeyFromSeed(n->opts, c->nkey, c->nkey_seed)) != NATS_OK)
		return ns__fail(d, "[nats] nkey_seed", s);
	if (c->creds[0] && (s = natsOptions_SetUserCredentialsFromFiles(n->opts, c->creds, NULL)) != NATS_OK)
		return ns__fail(d, "[nats] creds", s);
	if (c->tls_ca[0] || c->tls_cert[0]) {
		if ((s = natsOptions_SetSecure(n->opts, true)) != NATS_OK)
			return ns__fail(d, "[nats] TLS", s);
		if (c->tls_ca[0] && (s = natsOptions_LoadCATrustedCertificates(n->opts, c->tls_ca)) != NATS_OK)
			return ns__fail(d, "[nats] tls_ca", s);
		if (c->tls_cert[0] &&
		    (s = natsOptions_LoadCertificatesChain(n->opts, c->tls_cert, c->tls_key)) != NATS_OK)
			return ns__fail(d, "[nats] tls_cert/tls_key", s);
	}
	return 0;
}

int ns__nats_stream(ns_nats *n, const char *name, const char *const *subjects, int nsubjects,
		    int64_t max_per_subject, ns_diag *d)
{
	int64_t dup = (int64_t)(n->conf.duplicate_window * 1e9);
	jsStreamInfo *si = NULL;
	jsStreamConfig cfg;
	jsErrCode jerr = 0;
	const char *merged[64];
	int nmerged = 0, change = 0;
	natsStatus s;

	s = js_GetStreamInfo(&si, n->js, name, NULL, &jerr);
	if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
		jsStreamConfig_Init(&cfg);
		cfg.Name = name;
		cfg.Subjects = (const char **)subjects;
		cfg.SubjectsLen = nsubjects;
		cfg.Storage = js_FileStorage;
		cfg.Duplicates = dup;
		cfg.MaxMsgsPerSubject = max_per_subject;
		if ((s = js_AddStream(NULL, n->js, &cfg, NULL, &jerr)) != NATS_OK)
			return ns__fail(d, "cannot create the stream", s);
		ns__nats_log(n, NS_LOG_INFO, "NATS: created stream %s", name);
		return 1;
	}
	if (s != NATS_OK)
		return ns__fail(d, "cannot read the stream's configuration", s);
	cfg = *si->Config;
	if (cfg.Storage != js_FileStorage) {
		jsStreamInfo_Destroy(si);
		return ns_diag_set(d, NS_ENATS, "nats", "stream %s exists with memory storage; nomsync needs file storage",
				   name);
	}
	for (int i = 0; i < cfg.SubjectsLen && nmerged < 48; i++)
		merged[nmerged++] = cfg.Subjects[i];
	for (int i = 0; i < nsubjects; i++) {
		int have = 0;
		for (int j = 0; j < cfg.SubjectsLen; j++)
			have |= strcmp(cfg.Subjects[j], subjects[i]) == 0;
		if (!have && nmerged < 64) {
			merged[nmerged++] = subjects[i];
			change = 1;
		}
	}
	if (cfg.Duplicates < dup || (max_per_subject > 0 && cfg.MaxMsgsPerSubject != max_per_subject))
		change = 1;
	if (change) {
		cfg.Subjects = merged;
		cfg.SubjectsLen = nmerged;
		if (cfg.Duplicates < dup)
			cfg.Duplicates = dup;
		if (max_per_subject > 0)
			cfg.MaxMsgsPerSubject = max_per_subject;
		s = js_UpdateStream(NULL, n->js, &cfg, NULL, &jerr);
		if (s == NATS_OK)
			ns__nats_log(n, NS_LOG_INFO, "NATS: updated stream %s (subjects, duplicate window, per-subject limit)",
				     name);
	}
	jsStreamInfo_Destroy(si);
	return s == NATS_OK ? 0 : ns__fail(d, "cannot update the stream", s);
}

int ns_nats_start(ns_nats **out, ns_store *s, const ns_nats_conf *c, ns_nats_log_fn log, void *arg, ns_diag *d)
{
	jsOptions jo;
	ns_nats *n;
	natsStatus ns;
	int rc;

	*out = NULL;
	if (c == NULL || !c->enabled)
		return NS_EINVAL;
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return NS_ENOMEM;
	n->store = s;
	n->conf = *c;
	n->log = log;
	n->log_arg = arg;
	n->st.enabled = 1;
	n->next_no = 1;
	n->qcap = 1024;
	snprintf(n->events_stream, sizeof(n->events_stream), "%s", c->stream);
	snprintf(n->views_stream, sizeof(n->views_stream), "%s_VIEWS", c->stream);
	pthread_mutex_init(&n->lock, NULL);
	pthread_cond_init(&n->cond, NULL);
	pthread_rwlock_init(&n->store_lock, NULL);
	if ((n->q = calloc(n->qcap, sizeof(*n->q))) == NULL) {
		rc = NS_ENOMEM;
		goto fail;
	}
	if ((rc = ns__options(n, d)) != 0)
		goto fail;
	if ((rc = ns__nats_initial_lag(n)) != 0) {
		ns_diag_set(d, rc, "nats", "cannot read the published position from the store: %s", ns_strerror(rc));
		goto fail;
	}
	ns = natsConnection_Connect(&n->nc, n->opts);
	if (ns != NATS_OK && ns != NATS_NOT_YET_CONNECTED) {
		rc = ns__fail(d, "cannot connect", ns);
		goto fail;
	}
	if (ns == NATS_OK)
		ns__set_connected(n, 1);
	else
		ns__nats_log(n, NS_LOG_WARN, "NATS: no server answers at %s yet; retrying in the background", c->url);
	jsOptions_Init(&jo);
	jo.Wait = (int64_t)(c->ack_timeout * 1000);
	if ((ns = natsConnection_JetStream(&n->js, n->nc, &jo)) != NATS_OK) {
		rc = ns__fail(d, "JetStream", ns);
		goto fail;
	}
	jo.PublishAsync.MaxPending = (int64_t)c->window * 2;
	jo.PublishAsync.AckHandler = ns__nats_on_ack;
	jo.PublishAsync.AckHandlerClosure = n;
	if ((ns = natsConnection_JetStream(&n->js_pub, n->nc, &jo)) != NATS_OK) {
		rc = ns__fail(d, "JetStream", ns);
		goto fail;
	}
	if (pthread_create(&n->pub_thread, NULL, ns__nats_publisher, n) != 0) {
		rc = ns_diag_set(d, NS_ENOMEM, "nats", "cannot start the publisher thread");
		goto fail;
	}
	n->pub_started = 1;
	if (c->consume[0]) {
		if (pthread_create(&n->con_thread, NULL, ns__nats_consumer, n) != 0) {
			rc = ns_diag_set(d, NS_ENOMEM, "nats", "cannot start the consumer thread");
			goto fail;
		}
		n->con_started = 1;
	}
	*out = n;
	return 0;
fail:
	ns_nats_stop(n);
	return rc;
}

void ns_nats_status_get(ns_nats *n, ns_nats_status *out)
{
	pthread_mutex_lock(&n->lock);
	*out = n->st;
	pthread_mutex_unlock(&n->lock);
}

void ns_nats_pause(ns_nats *n)
{
	pthread_rwlock_wrlock(&n->store_lock);
}

void ns_nats_resume(ns_nats *n)
{
	pthread_rwlock_unlock(&n->store_lock);
}

void ns_nats_stop(ns_nats *n)
{
	if (n == NULL)
		return;
	pthread_mutex_lock(&n->lock);
	n->stop = 1;
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->lock);
	if (n->pub_started)
		pthread_join(n->pub_thread, NULL);
	if (n->con_started)
		pthread_join(n->con_thread, NULL);
	if (n->nc) {
		/*
		 * libnats calls the closed handler on its own thread after Close
		 * returns: wait for it (bounded) before freeing what it touches.
		 */
		natsConnection_Close(n->nc);
		int64_t until = ns__nats_now_ms() + 5000;
		pthread_mutex_lock(&n->lock);
		while (!n->closed && ns__nats_now_ms() < until) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 10 * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&n->cond, &n->lock, &ts);
		}
		pthread_mutex_unlock(&n->lock);
	}
	jsCtx_Destroy(n->js_pub);
	jsCtx_Destroy(n->js);
	natsConnection_Destroy(n->nc);
	natsOptions_Destroy(n->opts);
	pthread_rwlock_destroy(&n->store_lock);
	pthread_cond_destroy(&n->cond);
	pthread_mutex_destroy(&n->lock);
	free(n->q);
	free(n->map);
	free(n);
}
