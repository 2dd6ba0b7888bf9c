/*
 * Tests for the arena the fold builds its view in (src/fold/arena.c): the
 * arena's allocator is installed before main over jansson's defaults and a
 * program's own allocator set later is kept (no arena then), its text is the
 * same with and without the arena, jansson values made outside a fold
 * (before it, on the same thread, or on other threads while folds run)
 * are allocated and freed as before, and folds on several threads at once
 * give the same text.
 */
#include "fold_events.h"

#include <pthread.h>

#define NEV 120

static ns_event *evs[NEV];
static char *plain; /* the text folded without the arena */

/* A person with plan, access, registration, tier and correction events from several sites. */
static void build_person(void)
{
	struct site *sites[] = { &MDI, &LEI, &N07 };
	size_t n = 0;

	while (n < NEV) {
		struct site *s = sites[pick(3)];
		int64_t t = T("2024-01-01T10:00:00Z") + (int64_t)n * 3600;
		const char *off = s == &N07 ? CRN : NOMS;
		char d[11];

		switch (pick(5)) {
		case 0:
			evs[n] = random_access(s, t);
			break;
		case 1:
			evs[n] = e_reg_added(s, t, off, pick(2) ? "RMDO" : "RCCO", rdate(d));
			break;
		case 2:
			evs[n] = n > 0 && pick(2) ? e_correct(s, t, off, evs[pick((unsigned)n)])
						  : e_tier(s, t, off, pick(2) ? "B2" : "C1", "T1", rdate(d));
			break;
		default:
			evs[n] = random_plan(s, t);
		}
		n++;
	}
}

/* Counted blocks: a program's own allocator, which the fold must keep. */
static _Atomic long counted;

static void *counting_malloc(size_t size)
{
	counted++;
	return malloc(size);
}

/* Without the arena (an allocator of the program's own) and with it: the same text. */
static void test_same_text(void)
{
	json_malloc_t m;
	json_free_t f;
	char *text = NULL;

	json_malloc_t am;
	json_free_t af;
	json_get_alloc_funcs(&am, &af);
	CHECK(am != malloc && af != free); /* the arena's functions, installed before main */
	json_set_alloc_funcs(counting_malloc, free);
	CHECK_INT(ns_fold(evs, NEV, &plain, NULL, NULL), 0);
	CHECK(counted > 100); /* the view was built with the program's allocator */
	json_get_alloc_funcs(&m, &f);
	CHECK(m == counting_malloc); /* and the fold left it in place */
	json_set_alloc_funcs(am, af);

	CHECK_INT(ns_fold(evs, NEV, &text, NULL, NULL), 0);
	CHECK(plain != NULL && text != NULL && strlen(plain) > 1000);
	CHECK_STR(text, plain);
	free(text);
}

/* Values made outside a fold live on through it, and are freed with free() after. */
static void test_outside_values(void)
{
	json_t *before = json_pack("{s:s,s:[i,i]}", "a", "made before the fold", "b", 1, 2);
	char *text = NULL;

	CHECK_INT(ns_fold(evs, NEV, &text, NULL, NULL), 0);
	CHECK_STR(text, plain);
	CHECK(json_object_set_new(before, "c", json_string("added after the fold")) == 0);
	CHECK_STR(json_string_value(json_object_get(before, "a")), "made before the fold");
	json_decref(before);
	free(text);
}

struct worker {
	pthread_t t;
	int folder; /* folds, or builds and drops jansson values */
	int bad;
};

static void *work(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < 40; i++) {
		if (w->folder) {
			char *text = NULL;
			if (ns_fold(evs, NEV, &text, NULL, NULL) != 0 || strcmp(text, plain) != 0)
				w->bad++;
			free(text);
		} else {
			json_t *v = json_object();
			for (int k = 0; k < 200; k++) {
				char key[16];
				snprintf(key, sizeof(key), "k%d", k);
				json_object_set_new(v, key, json_pack("[s,i]", key, k));
			}
			char *s = json_dumps(v, JSON_COMPACT);
			if (s == NULL || strlen(s) < 2000)
				w->bad++;
			free(s);
			json_decref(v);
		}
	}
	return NULL;
}

/* Folds on two threads while a third uses jansson outside any fold. */
static void test_threads(void)
{
	struct worker w[3] = { { .folder = 1 }, { .folder = 1 }, { .folder = 0 } };

	for (int i = 0; i < 3; i++)
		CHECK_INT(pthread_create(&w[i].t, NULL, work, &w[i]), 0);
	for (int i = 0; i < 3; i++) {
		pthread_join(w[i].t, NULL);
		CHECK_INT(w[i].bad, 0);
	}
}

int main(void)
{
	if (ns_crypto_init() != 0)
		return 1;
	sites_init();
	build_person();
	RUN(test_same_text);
	RUN(test_outside_values);
	RUN(test_threads);
	free(plain);
	pool_free();
	return TEST_SUMMARY();
}
