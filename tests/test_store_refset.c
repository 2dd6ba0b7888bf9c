/*
 * Unit tests of the touched-ref set (ns__refset_add, env.c): each ref kept
 * once across the growth of its hash index, and a set emptied by setting n
 * to 0 (as person.c does) forgets its old refs.
 */
#include "store/store_int.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>

/* 1 if @p ref is in @p rs, by a scan of its refs. */
static int holds(const ns__refset *rs, const char *ref)
{
	for (size_t i = 0; i < rs->n; i++)
		if (strcmp(rs->ref[i], ref) == 0)
			return 1;
	return 0;
}

static void test_each_once(void)
{
	ns__refset rs = { 0 };
	char ref[NS_REF_MAX];

	/* 3000 refs, added twice in different orders: through several growths of the index. */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < 3000; i++) {
			snprintf(ref, sizeof(ref), "A%04dBC", pass ? 2999 - i : i);
			CHECK_INT(ns__refset_add(&rs, ref), 0);
		}
	CHECK_INT(rs.n, 3000);
	CHECK(holds(&rs, "A0000BC"));
	CHECK(holds(&rs, "A2999BC"));
	for (size_t i = 1; i < rs.n; i++)
		CHECK(strcmp(rs.ref[i - 1], rs.ref[i]) < 0); /* first-seen order kept */
	free(rs.ref);
}

static void test_emptied(void)
{
	ns__refset rs = { 0 };

	CHECK_INT(ns__refset_add(&rs, "A1111AA"), 0);
	CHECK_INT(ns__refset_add(&rs, "A2222AA"), 0);
	rs.n = 0; /* emptied by its user */
	CHECK_INT(ns__refset_add(&rs, "A2222AA"), 0);
	CHECK_INT(rs.n, 1);
	CHECK_STR(rs.ref[0], "A2222AA");
	CHECK_INT(ns__refset_add(&rs, "A1111AA"), 0);
	CHECK_INT(ns__refset_add(&rs, "A2222AA"), 0);
	CHECK_INT(rs.n, 2);
	CHECK_STR(rs.ref[1], "A1111AA");
	free(rs.ref);
}

int main(void)
{
	RUN(test_each_once);
	RUN(test_emptied);
	return TEST_SUMMARY();
}
