/*
 * ns-natscat: a small JetStream client for the NATS tests (e2e/nats.sh) and
 * the bench (not a test itself).
 *
 *   ns-natscat URL dump STREAM SUBJECT   every message on SUBJECT, one line each:
 *                                        Nats-Msg-Id (or -) TAB subject TAB data
 *   ns-natscat URL last STREAM SUBJECT   the data of the last message on SUBJECT
 *   ns-natscat URL count STREAM          the number of messages in STREAM
 *   ns-natscat URL pub SUBJECT FILE      publish each line of FILE as one message
 *                                        (waiting for each acknowledgement)
 *   ns-natscat URL rawpub SUBJECT FILE   publish FILE's bytes as one message
 */
#include <nats/nats.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int die(const char *what, natsStatus s)
{
	fprintf(stderr, "ns-natscat: %s: %s\n", what, natsStatus_GetText(s));
	return 1;
}

static int dump(jsCtx *js, const char *stream, const char *subject)
{
	jsSubOptions so;
	natsSubscription *sub = NULL;
	natsMsg *m = NULL;
	jsStreamInfo *si = NULL;
	natsStatus s;
	uint64_t last;

	if ((s = js_GetStreamInfo(&si, js, stream, NULL, NULL)) != NATS_OK)
		return die("stream info", s);
	last = si->State.LastSeq;
	jsStreamInfo_Destroy(si);
	if (last == 0)
		return 0;
	jsSubOptions_Init(&so);
	so.Stream = stream;
	so.Ordered = true;
	so.Config.DeliverPolicy = js_DeliverAll;
	if ((s = js_SubscribeSync(&sub, js, subject, NULL, &so, NULL)) != NATS_OK)
		return die("subscribe", s);
	for (;;) {
		jsMsgMetaData *meta = NULL;
		const char *id = NULL;
		if ((s = natsSubscription_NextMsg(&m, sub, 5000)) != NATS_OK)
			break;
		if (natsMsgHeader_Get(m, "Nats-Msg-Id", &id) != NATS_OK)
			id = "-";
		printf("%s\t%s\t%.*s\n", id, natsMsg_GetSubject(m), natsMsg_GetDataLength(m), natsMsg_GetData(m));
		uint64_t seq = 0;
		if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
			seq = meta->Sequence.Stream;
			jsMsgMetaData_Destroy(meta);
		}
		natsMsg_Destroy(m);
		if (seq >= last)
			break;
	}
	natsSubscription_Destroy(sub);
	return s == NATS_OK || s == NATS_TIMEOUT ? 0 : die("next message", s);
}

static int pub(jsCtx *js, const char *subject, const char *path, int raw)
{
	FILE *f = fopen(path, "rb");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	natsStatus s;

	if (f == NULL) {
		perror(path);
		return 1;
	}
	if (raw) {
		char *buf = malloc(1 << 20);
		size_t n = buf ? fread(buf, 1, 1 << 20, f) : 0;
		s = js_Publish(NULL, js, subject, buf, (int)n, NULL, NULL);
		free(buf);
		fclose(f);
		return s == NATS_OK ? 0 : die("publish", s);
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0)
			continue;
		if ((s = js_Publish(NULL, js, subject, line, (int)len, NULL, NULL)) != NATS_OK) {
			free(line);
			fclose(f);
			return die("publish", s);
		}
	}
	free(line);
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	natsStatus s;
	int rc = 2;

	if (argc != 5 && !(argc == 4 && strcmp(argv[2], "count") == 0)) {
		fprintf(stderr, "usage: ns-natscat URL dump|last STREAM SUBJECT | URL count STREAM | URL pub|rawpub SUBJECT FILE\n");
		return 2;
	}
	if ((s = natsConnection_ConnectTo(&nc, argv[1])) != NATS_OK)
		return die("connect", s);
	if ((s = natsConnection_JetStream(&js, nc, NULL)) != NATS_OK)
		return die("JetStream", s);
	if (strcmp(argv[2], "dump") == 0)
		rc = dump(js, argv[3], argv[4]);
	else if (strcmp(argv[2], "count") == 0) {
		jsStreamInfo *si = NULL;
		if ((s = js_GetStreamInfo(&si, js, argv[3], NULL, NULL)) != NATS_OK)
			rc = die("stream info", s);
		else {
			printf("%llu\n", (unsigned long long)si->State.Msgs);
			jsStreamInfo_Destroy(si);
			rc = 0;
		}
	}
	else if (strcmp(argv[2], "last") == 0) {
		natsMsg *m = NULL;
		if ((s = js_GetLastMsg(&m, js, argv[3], argv[4], NULL, NULL)) != NATS_OK)
			rc = die("last message", s);
		else {
			printf("%.*s\n", natsMsg_GetDataLength(m), natsMsg_GetData(m));
			natsMsg_Destroy(m);
			rc = 0;
		}
	} else if (strcmp(argv[2], "pub") == 0 || strcmp(argv[2], "rawpub") == 0)
		rc = pub(js, argv[3], argv[4], argv[2][0] == 'r');
	else
		fprintf(stderr, "ns-natscat: unknown command %s\n", argv[2]);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return rc;
}
