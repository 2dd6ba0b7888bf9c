/*
 * NOMSYNC_CATALOGUE_HIDE: a process that hides a type treats it as unknown.
 * The variable is read once per process, so each case runs before any type
 * lookup (the refused name in a child process of its own).
 */
#include "fixtures.h"
#include "test.h"

#include <nomsync/event.h>

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* In a child: an unknown name in the list is refused with the name in the message. */
static int bad_name_child(void)
{
	ns_diag d;

	setenv("NOMSYNC_CATALOGUE_HIDE", "alert.closed,prisoner.escaped", 1);
	if (ns_type_hide_check(&d) != NS_EINVAL || strstr(d.msg, "prisoner.escaped") == NULL)
		return 1;
	/* The names it does have are hidden all the same. */
	return ns_type_name(NOMSYNC__EVENT_TYPE__ALERT_CLOSED) == NULL ? 0 : 2;
}

static void test_bad_name(void)
{
	int status = -1;
	pid_t pid = fork();

	if (pid == 0)
		_exit(bad_name_child());
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_INT(WEXITSTATUS(status), 0);
}

static void test_hidden(void)
{
	Nomsync__Payload *p = ns_test_received("MDI");
	ns_identity mdi;
	ns_event *ev = NULL;
	ns_diag d;

	CHECK_INT(ns_type_hide_check(&d), 0);
	CHECK(ns_type_name(NOMSYNC__EVENT_TYPE__PRISONER_RECEIVED) == NULL);
	CHECK(ns_type_name(NOMSYNC__EVENT_TYPE__ALERT_CLOSED) == NULL);
	CHECK_INT(ns_type_parse("prisoner.received"), 0);
	CHECK_STR(ns_type_name(NOMSYNC__EVENT_TYPE__PRISONER_RELEASED), "prisoner.released");
	CHECK_INT(ns_type_parse("prisoner.released"), NOMSYNC__EVENT_TYPE__PRISONER_RELEASED);
	{
		/* Hiding types does not change the highest type the build knows. */
		int max = 0;
		for (unsigned i = 0; i < nomsync__event_type__descriptor.n_values; i++)
			if (nomsync__event_type__descriptor.values[i].value > max)
				max = nomsync__event_type__descriptor.values[i].value;
		CHECK_INT(ns_type_max(), max);
	}

	/* This process can no more sign a hidden type than an older release could. */
	CHECK_INT(ns_identity_generate(&mdi, "MDI", NS_ROLE_PRISON), 0);
	CHECK_INT(ns_event_build(&mdi, 1, NULL, 1767603600, 1767603700, "A1234BC", p, &ev), NS_EINVAL);
	nomsync__payload__free_unpacked(p, NULL);
}

int main(void)
{
	RUN(test_bad_name);
	setenv("NOMSYNC_CATALOGUE_HIDE", "prisoner.received,alert.closed", 1);
	RUN(test_hidden);
	return TEST_SUMMARY();
}
