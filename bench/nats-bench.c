/*
 * nomsync-nats-bench: the NATS figures of bench/run.sh (docs/PERFORMANCE.md).
 *
 *   nomsync-nats-bench ceiling URL STREAM COUNT SIZE WINDOW
 *       a bare libnats async publisher: COUNT messages of SIZE bytes, each
 *       with its own Nats-Msg-Id, at most WINDOW unacknowledged, into a new
 *       file-backed STREAM (subjects STREAM.>) on the server at URL
 *   nomsync-nats-bench publish URL STREAM COUNT TIMEOUT LOG -- NOMSYNCD ARGS...
 *       start NOMSYNCD ARGS... (its output appended to LOG) and time from
 *       the first message in STREAM (empty before) until it holds COUNT
 *       messages (and, apart, the start-up until the first message); the
 *       daemon is left running (its pid is printed)
 *   nomsync-nats-bench mirror HUB_URL STREAM COUNT SIZE WINDOW LEAF_URL HUB_DOMAIN TIMEOUT
 *       fill a new file-backed STREAM on the hub as `ceiling` does (not
 *       timed), then create on the leaf-node server at LEAF_URL a file-backed
 *       stream STREAM_MIRROR mirroring it through the hub's JetStream domain
 *       ($JS.<HUB_DOMAIN>.API) and time until the mirror holds COUNT messages
 *       (stream info polled every 5 ms); prints jetstream.mirror_rate,
 *       jetstream.mirror_seconds, jetstream.messages, jetstream.fill_rate
 *
 * The first two print "name value" lines: nats.<what>_rate (messages/s) and
 * nats.<what>_seconds.
 */
#include <nats/nats.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int die(const char *what, natsStatus s)
{
	fprintf(stderr, "nomsync-nats-bench: %s: %s\n", what, natsStatus_GetText(s));
	return 1;
}

/* fill: COUNT messages of SIZE bytes into a new STREAM, async with Nats-Msg-Id, all acknowledged;
 * *seconds is the time taken. */
static int fill(jsCtx *js, const char *stream, long count, int size, double *seconds)
{
	char subj[128], id[64], subject[160];
	const char *subjects[] = { subj };
	jsStreamConfig cfg;
	jsPubOptions po;
	char *data = malloc((size_t)size);
	natsStatus s;

	snprintf(subj, sizeof(subj), "%s.>", stream);
	snprintf(subject, sizeof(subject), "%s.msg", stream);
	memset(data, 'x', (size_t)size);
	jsStreamConfig_Init(&cfg);
	cfg.Name = stream;
	cfg.Subjects = subjects;
	cfg.SubjectsLen = 1;
	cfg.Storage = js_FileStorage;
	cfg.Duplicates = (int64_t)7200 * 1000000000LL;
	if ((s = js_AddStream(NULL, js, &cfg, NULL, NULL)) != NATS_OK)
		return die("add stream", s);
	jsPubOptions_Init(&po);
	double t0 = now_s();
	for (long i = 0; i < count; i++) {
		natsMsg *m = NULL;
		snprintf(id, sizeof(id), "%016lx%016lx", (long)getpid(), i);
		if ((s = natsMsg_Create(&m, subject, NULL, data, size)) != NATS_OK ||
		    (s = natsMsgHeader_Set(m, "Nats-Msg-Id", id)) != NATS_OK ||
		    (s = js_PublishMsgAsync(js, &m, &po)) != NATS_OK) {
			natsMsg_Destroy(m);
			return die("publish", s);
		}
	}
	jsPubOptions_Init(&po);
	po.MaxWait = 120000;
	if ((s = js_PublishAsyncComplete(js, &po)) != NATS_OK)
		return die("complete", s);
	*seconds = now_s() - t0;
	free(data);
	return 0;
}

static int ceiling(jsCtx *js, const char *stream, long count, int size)
{
	double t;
	if (fill(js, stream, count, size, &t) != 0)
		return 1;
	printf("nats.ceiling_rate %.1f\nnats.ceiling_seconds %.3f\n", count / t, t);
	return 0;
}

static uint64_t stream_msgs(jsCtx *js, const char *stream)
{
	jsStreamInfo *si = NULL;
	uint64_t n = 0;
	if (js_GetStreamInfo(&si, js, stream, NULL, NULL) == NATS_OK) {
		n = si->State.Msgs;
		jsStreamInfo_Destroy(si);
	}
	return n;
}

static int publish(jsCtx *js, const char *stream, long count, double timeout, const char *log, char **argv)
{
	double t0 = now_s(), first = 0;
	pid_t pid = fork();
	if (pid == 0) {
		if (freopen(log, "a", stdout) == NULL || dup2(fileno(stdout), 2) < 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0)
		return 1;
	for (;;) {
		uint64_t n = stream_msgs(js, stream);
		double t = now_s();
		if (n > 0 && first == 0)
			first = t;
		if ((long)n >= count) {
			/* The rate from the first message on: the daemon's start-up is another figure. */
			printf("nats.publish_rate %.1f\nnats.publish_seconds %.3f\nnats.publish_first_seconds %.3f\n"
			       "nats.publish_pid %d\n",
			       count / (t - first), t - first, first - t0, (int)pid);
			return 0;
		}
		if (t - t0 > timeout) {
			fprintf(stderr, "nomsync-nats-bench: %llu of %ld messages after %.0f s\n", (unsigned long long)n, count,
				timeout);
			kill(pid, SIGTERM);
			return 1;
		}
		usleep(20000);
	}
}

/* mirror: LEAF's stream STREAM_MIRROR mirrors the hub's STREAM (COUNT messages) through the
 * hub's JetStream domain; timed from its creation until it holds COUNT messages. */
static int mirror(jsCtx *hub, const char *stream, long count, int size, const char *leaf_url,
		  const char *hub_domain, double timeout)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	jsStreamConfig cfg;
	jsStreamSource src;
	jsExternalStream ext;
	char name[128], prefix[128], deliver[128];
	double fill_s;
	natsStatus s;
	int rc = 1;

	if (fill(hub, stream, count, size, &fill_s) != 0)
		return 1;
	if (stream_msgs(hub, stream) != (uint64_t)count) {
		fprintf(stderr, "nomsync-nats-bench: the hub's stream does not hold %ld messages\n", count);
		return 1;
	}
	if ((s = natsConnection_ConnectTo(&nc, leaf_url)) != NATS_OK)
		return die("connect to the leaf", s);
	if ((s = natsConnection_JetStream(&js, nc, NULL)) != NATS_OK) {
		rc = die("JetStream on the leaf", s);
		goto out;
	}
	snprintf(name, sizeof(name), "%s_MIRROR", stream);
	snprintf(prefix, sizeof(prefix), "$JS.%s.API", hub_domain);
	jsExternalStream_Init(&ext);
	ext.APIPrefix = prefix;
	/* libnats 3.4 needs both strings; the mirror's consumer delivers under this prefix. */
	snprintf(deliver, sizeof(deliver), "deliver.%s.%s", hub_domain, stream);
	ext.DeliverPrefix = deliver;
	jsStreamSource_Init(&src);
	src.Name = stream;
	src.External = &ext;
	jsStreamConfig_Init(&cfg);
	cfg.Name = name;
	cfg.Storage = js_FileStorage;
	cfg.Mirror = &src;
	double t0 = now_s();
	if ((s = js_AddStream(NULL, js, &cfg, NULL, NULL)) != NATS_OK) {
		rc = die("add the mirror stream on the leaf", s);
		goto out;
	}
	for (;;) {
		uint64_t n = stream_msgs(js, name);
		double t = now_s();
		if ((long)n >= count) {
			printf("jetstream.mirror_rate %.1f\njetstream.mirror_seconds %.3f\njetstream.messages %ld\n"
			       "jetstream.fill_rate %.1f\n",
			       count / (t - t0), t - t0, count, count / fill_s);
			rc = 0;
			break;
		}
		if (t - t0 > timeout) {
			fprintf(stderr, "nomsync-nats-bench: the mirror holds %llu of %ld messages after %.0f s\n",
				(unsigned long long)n, count, timeout);
			break;
		}
		usleep(5000);
	}
out:
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return rc;
}

int main(int argc, char **argv)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	jsOptions jo;
	natsStatus s;
	int rc = 2;

	if (argc < 6) {
		fprintf(stderr, "usage: nomsync-nats-bench ceiling URL STREAM COUNT SIZE WINDOW\n"
				"       nomsync-nats-bench publish URL STREAM COUNT TIMEOUT LOG -- NOMSYNCD ARGS...\n"
				"       nomsync-nats-bench mirror HUB_URL STREAM COUNT SIZE WINDOW LEAF_URL HUB_DOMAIN "
				"TIMEOUT\n");
		return 2;
	}
	if ((s = natsConnection_ConnectTo(&nc, argv[2])) != NATS_OK)
		return die("connect", s);
	jsOptions_Init(&jo);
	if ((strcmp(argv[1], "ceiling") == 0 && argc == 7) || (strcmp(argv[1], "mirror") == 0 && argc == 10))
		jo.PublishAsync.MaxPending = atoi(argv[6]);
	if ((s = natsConnection_JetStream(&js, nc, &jo)) != NATS_OK)
		return die("JetStream", s);
	if (strcmp(argv[1], "ceiling") == 0 && argc == 7)
		rc = ceiling(js, argv[3], atol(argv[4]), atoi(argv[5]));
	else if (strcmp(argv[1], "publish") == 0 && argc > 8 && strcmp(argv[7], "--") == 0)
		rc = publish(js, argv[3], atol(argv[4]), atof(argv[5]), argv[6], argv + 8);
	else if (strcmp(argv[1], "mirror") == 0 && argc == 10)
		rc = mirror(js, argv[3], atol(argv[4]), atoi(argv[5]), argv[7], argv[8], atof(argv[9]));
	else
		fprintf(stderr, "nomsync-nats-bench: bad arguments\n");
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return rc;
}
