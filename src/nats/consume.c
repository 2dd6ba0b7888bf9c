/*
 * The consumer thread ([nats] consume): HMPPS domain events from a durable
 * pull consumer, mapped (ns_nats_map), appended as this site and then
 * acknowledged; what cannot be mapped or appended goes to the dead-letter
 * subject (see nomsync/nats.h).
 */
#include "nats/nats_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS__FETCH_BATCH 64
#define NS__FETCH_WAIT_MS 500
#define NS__RETRY_DELAY_MS 5000 /* redelivery of a message whose append failed for a passing reason */

/* Publish the dead letter for @p m (synchronously: it is kept before the message is acknowledged). */
static int ns__dead_letter(ns_nats *n, natsMsg *m, uint64_t stream_seq, const char *reason)
{
	char subj[128];
	json_t *dl = ns_nats_dead_letter(reason, natsMsg_GetSubject(m), stream_seq, natsMsg_GetData(m),
					 (size_t)natsMsg_GetDataLength(m), (int64_t)time(NULL));
	char *text = dl ? json_dumps(dl, JSON_COMPACT) : NULL;
	jsErrCode jerr = 0;
	natsStatus s = NATS_NO_MEMORY;

	json_decref(dl);
	snprintf(subj, sizeof(subj), "%s.deadletter", n->conf.prefix);
	if (text)
		s = js_Publish(NULL, n->js, subj, text, (int)strlen(text), NULL, &jerr);
	free(text);
	if (s != NATS_OK) {
		ns__nats_log(n, NS_LOG_ERROR, "NATS: cannot publish a dead letter (%s); the message will be redelivered",
			     natsStatus_GetText(s));
		return NS_ENATS;
	}
	pthread_mutex_lock(&n->lock);
	n->st.dead_letters++;
	pthread_mutex_unlock(&n->lock);
	ns__nats_log(n, NS_LOG_WARN, "NATS: message %llu on %s sent to %s: %s", (unsigned long long)stream_seq,
		     natsMsg_GetSubject(m), subj, reason);
	return 0;
}

/* Map and append one message; then acknowledge it, dead-letter it, or have it redelivered later. */
static void ns__handle(ns_nats *n, natsMsg *m)
{
	jsMsgMetaData *meta = NULL;
	uint64_t seq = 0;
	json_t *events = NULL, *e;
	ns_input *in = NULL;
	size_t count = 0, bad = 0, i;
	char reason[400];
	ns_diag d;
	int rc;

	if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
		seq = meta->Sequence.Stream;
		jsMsgMetaData_Destroy(meta);
	}
	ns_diag_clear(&d);
	rc = ns_nats_map(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &events, &d);
	if (rc == NS_ENOMEM)
		goto retry;
	if (rc != 0) {
		snprintf(reason, sizeof(reason), "cannot map: %s", d.msg);
		goto dead;
	}
	count = json_array_size(events);
	if ((in = calloc(count, sizeof(*in))) == NULL)
		goto retry;
	json_array_foreach(events, i, e)
	{
		if ((rc = ns_input_from_json(e, &in[i], &d)) != 0) {
			if (rc == NS_ENOMEM)
				goto retry;
			snprintf(reason, sizeof(reason), "event %zu (%s): %s", i,
				 json_string_value(json_object_get(e, "type")), d.msg);
			goto dead;
		}
	}
	pthread_rwlock_rdlock(&n->store_lock);
	rc = ns_store_append(n->store, in, count, NULL, &bad, &d);
	pthread_rwlock_unlock(&n->store_lock);
	if (rc == NS_EVALID || rc == NS_EROLE) {
		snprintf(reason, sizeof(reason), "event %zu (%s) refused: %s", bad,
			 json_string_value(json_object_get(json_array_get(events, bad), "type")),
			 d.msg[0] ? d.msg : ns_strerror(rc));
		goto dead;
	}
	if (rc != 0) {
		ns__nats_log(n, NS_LOG_WARN, "NATS: cannot append message %llu yet (%s); redelivery in %d s",
			     (unsigned long long)seq, d.msg[0] ? d.msg : ns_strerror(rc), NS__RETRY_DELAY_MS / 1000);
		goto retry;
	}
	pthread_mutex_lock(&n->lock);
	n->st.consumed++;
	pthread_mutex_unlock(&n->lock);
	natsMsg_Ack(m, NULL);
	goto done;
dead:
	if (ns__dead_letter(n, m, seq, reason) == 0) {
		natsMsg_Ack(m, NULL);
		goto done;
	}
retry:
	natsMsg_NakWithDelay(m, NS__RETRY_DELAY_MS, NULL);
done:
	for (i = 0; in && i < count; i++)
		ns_input_clear(&in[i]);
	free(in);
	json_decref(events);
}

/* Subscribe; @p fails counts the failures since the last success. */
static natsSubscription *ns__subscribe(ns_nats *n, int *fails)
{
	natsSubscription *sub = NULL;
	jsErrCode jerr = 0;
	natsStatus s = js_PullSubscribe(&sub, n->js, n->conf.consume, n->conf.consumer, NULL, NULL, &jerr);

	if (s == NATS_OK) {
		ns__nats_log(n, NS_LOG_INFO, "NATS: consuming %s as durable %s", n->conf.consume, n->conf.consumer);
		*fails = 0;
		return sub;
	}
	if (++*fails == 1) {
		/* Most likely no stream captures the subject (libnats reports it in more than one way): make one. */
		char name[80];
		const char *subjects[] = { n->conf.consume };
		ns_diag d;
		ns_diag_clear(&d);
		snprintf(name, sizeof(name), "%s_INBOUND", n->conf.stream);
		if (ns__nats_stream(n, name, subjects, 1, 0, &d) < 0)
			ns__nats_log(n, NS_LOG_ERROR, "NATS: cannot consume %s (%s) and cannot make stream %s for it: %s",
				     n->conf.consume, natsStatus_GetText(s), name, d.msg);
	} else if (*fails == 2)
		ns__nats_log(n, NS_LOG_ERROR, "NATS: cannot consume %s: %s (retrying every second)", n->conf.consume,
			     natsStatus_GetText(s));
	return NULL;
}

void *ns__nats_consumer(void *arg)
{
	ns_nats *n = arg;
	natsSubscription *sub = NULL;
	int fails = 0;

	while (!n->stop) {
		if (!ns__nats_up(n))
			continue;
		if (sub == NULL && (sub = ns__subscribe(n, &fails)) == NULL) {
			pthread_mutex_lock(&n->lock);
			ns__nats_wait(n, 1000);
			pthread_mutex_unlock(&n->lock);
			continue;
		}
		natsMsgList list = { 0 };
		jsErrCode jerr = 0;
		natsStatus s = natsSubscription_Fetch(&list, sub, NS__FETCH_BATCH, NS__FETCH_WAIT_MS, &jerr);
		for (int i = 0; s == NATS_OK && i < list.Count && !n->stop; i++)
			ns__handle(n, list.Msgs[i]);
		natsMsgList_Destroy(&list);
		if (s != NATS_OK && s != NATS_TIMEOUT) {
			pthread_mutex_lock(&n->lock);
			ns__nats_wait(n, 200);
			pthread_mutex_unlock(&n->lock);
		}
	}
	natsSubscription_Destroy(sub);
	return NULL;
}
