/*
 * Bundles: signed files of events for air-gapped transfer.
 *
 * Layout:
 *   "NSBUNDLE1\n"                       magic, 10 bytes
 *   'E' varint(len) event-bytes         one per event, by origin then seq
 *   'P' varint(len) a varint(len) b     equivocation proofs
 *   'T' varint(len) BundleTrailer       last record (proto/event.proto)
 *
 * The trailer holds the record count, the BLAKE2b-256 digest of every byte
 * before the 'T', and the exporter's Ed25519 signature over that digest.
 * Each event also carries its origin's own signature, so a bundle can be
 * carried by anyone: import checks the trailer, then decodes and verifies
 * every event and proof, and only then applies them (idempotently).
 */
#ifndef NOMSYNC_BUNDLE_H
#define NOMSYNC_BUNDLE_H

#include <stdio.h>
#include <nomsync/store.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NS_BUNDLE_MAGIC "NSBUNDLE1\n"

/**
 * @brief Write a bundle of the events a holder of @p since lacks (all
 * events if @p since is NULL), plus every equivocation proof held.
 * @param[out] count optional, events written
 * @return 0, NS_EIO on a write error, or a store error
 */
int ns_bundle_export(ns_store *s, const ns_vv_entry *since, size_t nsince, FILE *out,
		     uint64_t *count);

/** What an import did. */
typedef struct ns_import_report {
	uint64_t events;     /**< events in the bundle */
	uint64_t applied;    /**< newly applied */
	uint64_t duplicates; /**< already held */
	uint64_t held;       /**< waiting for a missing predecessor */
	uint64_t rejected;   /**< refused by policy (role, validation, quarantine) */
	uint64_t proofs;     /**< equivocation proofs newly recorded */
	char exporter[NS_SITE_MAX];
} ns_import_report;

/**
 * @brief Check a bundle held in memory without applying it: magic, record
 * framing, trailer digest and signature, and every event's decoding and
 * signature. @p d names the first problem (with its byte offset).
 * @return 0 or NS_EBUNDLE
 */
int ns_bundle_check(const uint8_t *buf, size_t len, ns_import_report *r, ns_diag *d);

/**
 * @brief Import the bundle file @p path: ns_bundle_check, then ingest every
 * event in batches. A corrupt bundle changes nothing.
 * @return 0, NS_EBUNDLE, NS_EIO or a store error
 */
int ns_bundle_import(ns_store *s, const char *path, ns_import_report *r, ns_diag *d);

#ifdef __cplusplus
}
#endif
#endif /* NOMSYNC_BUNDLE_H */
