/*
 * Small event payloads shared by the unit tests.
 */
#ifndef NS_TEST_FIXTURES_H
#define NS_TEST_FIXTURES_H

#include <nomsync/event.h>

#include <stdlib.h>
#include <string.h>

/* A prisoner.received payload (NEW_ADMISSION at @p prison); free with nomsync__payload__free_unpacked. */
static inline Nomsync__Payload *ns_test_received(const char *prison)
{
	Nomsync__Payload *p = malloc(sizeof(*p));
	Nomsync__PrisonerReceived *r = malloc(sizeof(*r));
	nomsync__payload__init(p);
	nomsync__prisoner_received__init(r);
	r->prison = strdup(prison);
	r->reason = strdup("NEW_ADMISSION");
	p->body_case = NOMSYNC__PAYLOAD__BODY_PRISONER_RECEIVED;
	p->prisoner_received = r;
	return p;
}

#endif /* NS_TEST_FIXTURES_H */
