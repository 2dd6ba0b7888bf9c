/*
 * ns-golden: a reproducible digest of folded views, for the golden test
 * (tests/e2e/golden.sh).
 *
 *   ns-golden WORKDIR GENDIR SITE:ROLE...
 *
 * Reads GENDIR/SITE.jsonl (nomsync-gen output) for each site and signs its
 * lines as that site would on `nomsync append`, but with a key derived from
 * the site code and recorded_at = occurred_at, so the event ids, and with
 * them the views, are the same on every run. The events then go through
 * the real paths a node uses (ingest with role and payload rules, held
 * events, deferred folds, bundles) into four stores in different orders:
 *
 *   a: site by site, in log order, one batch per site
 *   b: sites in reverse, every site's events in reverse seq order, one per
 *      batch (each is held until seq 1 arrives, then the chain drains)
 *   c: every event in one batch with NS_INGEST_DEFER_FOLD, then the
 *      deferred id index and folds completed
 *   d: a bundle exported from a and imported
 *
 * Prints "digest HEX" per store and exits 1 unless all four agree and every
 * event was applied. The digest pins the fold's output: a change that moves
 * it changed what some view shows.
 */
#include <nomsync/bundle.h>
#include <nomsync/json.h>
#include <nomsync/store.h>

#include <sodium.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SITES 8

typedef struct site {
	ns_identity id;
	ns_event **evs;
	size_t n;
} site;

static int die(const char *what, int rc, const ns_diag *d)
{
	fprintf(stderr, "ns-golden: %s: %s%s%s\n", what, ns_strerror(rc), d && d->msg[0] ? ": " : "",
		d && d->msg[0] ? d->msg : "");
	return 1;
}

/* The site's key: Ed25519 from a seed that is the hash of its code. */
static void derive(ns_identity *id, const char *code, ns_role role)
{
	uint8_t seed[crypto_sign_SEEDBYTES];
	char label[64];

	memset(id, 0, sizeof(*id));
	snprintf(id->site, sizeof(id->site), "%s", code);
	id->role = role;
	snprintf(label, sizeof(label), "nomsync-golden:%s", code);
	ns_hash(seed, label, strlen(label));
	crypto_sign_seed_keypair(id->pk, id->sk, seed);
}

/* Sign every line of GENDIR/SITE.jsonl in order. */
static int load(site *st, const char *gendir)
{
	char path[4096], *line = NULL;
	size_t cap = 0, alloc = 0;
	uint8_t prev[NS_ID_BYTES] = { 0 };
	ssize_t len;
	ns_diag d = { 0 };
	FILE *f;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/%s.jsonl", gendir, st->id.site);
	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "ns-golden: cannot open %s\n", path);
		return 1;
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		ns_input in = { 0 };
		ns_event *ev;

		if ((rc = ns_input_parse(line, (size_t)len, &in, &d)) != 0)
			break;
		if (st->n == alloc) {
			ns_event **grown = realloc(st->evs, (alloc = alloc ? 2 * alloc : 256) * sizeof(*grown));
			if (grown == NULL) {
				ns_input_clear(&in);
				rc = NS_ENOMEM;
				break;
			}
			st->evs = grown;
		}
		rc = ns_event_build(&st->id, st->n + 1, prev, in.occurred_at, in.occurred_at, in.offender,
				    in.payload, &ev);
		ns_input_clear(&in);
		if (rc != 0)
			break;
		memcpy(prev, ev->id, NS_ID_BYTES);
		st->evs[st->n++] = ev;
	}
	free(line);
	fclose(f);
	return rc ? die(path, rc, &d) : 0;
}

static int open_new(const char *work, const char *name, ns_store **s)
{
	char dir[4096];
	ns_diag d = { 0 };
	int rc;

	snprintf(dir, sizeof(dir), "%s/%s", work, name);
	if ((rc = ns_store_create(dir, "HUBG", NS_ROLE_HUB, &d)) != 0 ||
	    (rc = ns_store_open(dir, 0, s, &d)) != 0)
		return die(dir, rc, &d);
	return 0;
}

/* Ingest n events; every one must end applied (now or by a later drain). */
static int ingest(ns_store *s, ns_event **evs, size_t n, unsigned flags)
{
	int *res = calloc(n ? n : 1, sizeof(*res)), rc;

	if (res == NULL)
		return die("ingest", NS_ENOMEM, NULL);
	rc = ns_store_ingest(s, evs, n, flags, res, NULL);
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (res[i] < 0) {
			fprintf(stderr, "ns-golden: event %zu of %s refused: %s\n", i, evs[i]->site,
				ns_strerror(res[i]));
			rc = res[i];
		}
	free(res);
	return rc ? die("ingest", rc, NULL) : 0;
}

static int digest(ns_store *s, const char *name, char hex[2 * NS_ID_BYTES + 1])
{
	uint8_t dg[NS_ID_BYTES];
	uint64_t persons = 0, events = 0;
	int rc;

	if ((rc = ns_store_digest(s, NULL, dg)) != 0 || (rc = ns_store_stats(s, &persons, &events)) != 0)
		return die("digest", rc, NULL);
	ns_hex(hex, dg, NS_ID_BYTES);
	printf("store %s: %llu persons, %llu events, digest %s\n", name, (unsigned long long)persons,
	       (unsigned long long)events, hex);
	return 0;
}

int main(int argc, char **argv)
{
	site sites[MAX_SITES];
	size_t nsites = 0, total = 0;
	ns_store *st[4] = { NULL };
	char hex[4][2 * NS_ID_BYTES + 1], bpath[4096];
	int rc = 1;

	if (argc < 4 || argc - 3 > MAX_SITES) {
		fprintf(stderr, "usage: ns-golden WORKDIR GENDIR SITE:ROLE... (at most %d sites)\n", MAX_SITES);
		return 2;
	}
	if (ns_crypto_init() != 0)
		return 1;
	memset(sites, 0, sizeof(sites));
	for (int i = 3; i < argc; i++, nsites++) {
		char code[NS_SITE_MAX] = "";
		const char *colon = strchr(argv[i], ':');
		ns_role role = colon ? ns_role_parse(colon + 1) : NS_ROLE_NONE;

		if (colon == NULL || role == NS_ROLE_NONE || (size_t)(colon - argv[i]) >= sizeof(code)) {
			fprintf(stderr, "ns-golden: '%s' is not SITE:ROLE\n", argv[i]);
			goto out;
		}
		memcpy(code, argv[i], (size_t)(colon - argv[i]));
		derive(&sites[nsites].id, code, role);
		if (load(&sites[nsites], argv[2]) != 0)
			goto out;
		total += sites[nsites].n;
	}
	if (open_new(argv[1], "a", &st[0]) || open_new(argv[1], "b", &st[1]) || open_new(argv[1], "c", &st[2]) ||
	    open_new(argv[1], "d", &st[3]))
		goto out;

	for (size_t i = 0; i < nsites; i++)
		if (ingest(st[0], sites[i].evs, sites[i].n, 0) != 0)
			goto out;
	for (size_t i = nsites; i-- > 0;)
		for (size_t j = sites[i].n; j-- > 0;)
			if (ingest(st[1], &sites[i].evs[j], 1, 0) != 0)
				goto out;
	{
		ns_event **all = malloc((total ? total : 1) * sizeof(*all));
		size_t k = 0, left = 1;
		int r = 0;

		if (all == NULL)
			goto out;
		for (size_t i = 0; i < nsites; i++)
			for (size_t j = 0; j < sites[i].n; j++)
				all[k++] = sites[i].evs[j];
		r = ingest(st[2], all, total, NS_INGEST_DEFER_FOLD);
		free(all);
		while (r == 0 && left > 0)
			r = ns_store_index_pending(st[2], 4096, &left, NULL);
		for (left = 1; r == 0 && left > 0;)
			r = ns_store_fold_pending(st[2], 64, &left, NULL);
		if (r != 0) {
			die("deferred work", r, NULL);
			goto out;
		}
	}
	{
		ns_import_report rep;
		ns_diag d = { 0 };
		FILE *f;
		int r;

		snprintf(bpath, sizeof(bpath), "%s/a.bundle", argv[1]);
		if ((f = fopen(bpath, "w")) == NULL)
			goto out;
		r = ns_bundle_export(st[0], NULL, 0, f, NULL);
		if (fclose(f) != 0 && r == 0)
			r = NS_EIO;
		if (r == 0)
			r = ns_bundle_import(st[3], bpath, &rep, &d);
		if (r != 0) {
			die("bundle", r, &d);
			goto out;
		}
		if (rep.applied != total) {
			fprintf(stderr, "ns-golden: bundle applied %llu of %zu events\n",
				(unsigned long long)rep.applied, total);
			goto out;
		}
	}
	for (int i = 0; i < 4; i++)
		if (digest(st[i], (const char[][2]){ "a", "b", "c", "d" }[i], hex[i]) != 0)
			goto out;
	rc = 0;
	for (int i = 1; i < 4; i++)
		if (strcmp(hex[0], hex[i]) != 0) {
			fprintf(stderr, "ns-golden: store %c's digest differs from store a's\n", 'a' + i);
			rc = 1;
		}
	if (rc == 0)
		printf("events %zu\ndigest %s\n", total, hex[0]);
out:
	for (int i = 0; i < 4; i++)
		ns_store_close(st[i]);
	for (size_t i = 0; i < nsites; i++) {
		for (size_t j = 0; j < sites[i].n; j++)
			ns_event_free(sites[i].evs[j]);
		free(sites[i].evs);
		ns_identity_wipe(&sites[i].id);
	}
	return rc;
}
