/*
 * Bundles: signed files of events for air-gapped transfer.
 *
 * Layout:
 *   "NSBUNDLE2\n"                       magic, 10 bytes (format 2; "NSBUNDLE1\n": 1)
 *   'E' varint(len) event-bytes         one per event, by origin then seq
 *   'P' varint(len) a varint(len) b     equivocation proofs
 *   'T' varint(len) BundleTrailer       last record (proto/event.proto)
 *
 * The trailer holds the record count, the BLAKE2b-256 digest of every byte
 * before the 'T', the exporter's key, site code and export time, and the
 * exporter's Ed25519 signature. In format 2 the signature covers a seal: the
 * BLAKE2b-256 of "nomsync bundle trailer 2\0", the digest, the count and the
 * time (8 bytes big-endian each), the key, the site's length (8 bytes
 * big-endian) and the site. In format 1 it covers the digest alone, so the
 * site, time and count of a format-1 trailer are nobody's word: import
 * still reads format 1 and reports its site as unverified.
 *
 * Whatever the format, the trailer says only which key sealed the bundle,
 * and what its holder claims about itself; who that key belongs to is the
 * roster's business (nomsync import --config looks it up there). Each event
 * carries its origin's own signature, so a bundle can be carried by anyone:
 * import checks the trailer, then decodes and verifies every event and
 * proof, and only then applies them (idempotently), each judged on its own.
 */
#ifndef NOMSYNC_BUNDLE_H
#define NOMSYNC_BUNDLE_H

#include <stdio.h>
#include <nomsync/store.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NS_BUNDLE_MAGIC "NSBUNDLE2\n"    /**< written by ns_bundle_export */
#define NS_BUNDLE_MAGIC_V1 "NSBUNDLE1\n" /**< still read */
#define NS_BUNDLE_VERSION 2              /**< the format ns_bundle_export writes */

/**
 * @brief The trailer record that seals a bundle of format @p version (1 or
 * 2): 'T', the length, and a BundleTrailer signed by @p id. Export writes
 * format 2; format 1 is for tests of old bundles and for the fuzzers.
 * @param digest BLAKE2b-256 of every byte of the bundle before the trailer
 * @param count  the bundle's 'E' records
 * @param created_at Unix seconds
 * @param[out] out malloc'd, caller frees
 * @return 0, NS_EINVAL (unknown version) or NS_ENOMEM
 */
int ns_bundle_trailer(int version, const ns_identity *id, const uint8_t digest[NS_ID_BYTES],
		      uint64_t count, int64_t created_at, uint8_t **out, size_t *len);

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
	int version;         /**< bundle format, 1 or 2 */
	/** The key whose signature seals the bundle; whose it is, only a roster says. */
	uint8_t exporter_key[NS_KEY_BYTES];
	/** Site code and export time (Unix seconds) the trailer claims: signed by
	 * exporter_key in format 2, covered by nothing in format 1. */
	char exporter[NS_SITE_MAX];
	int64_t created_at;
} ns_import_report;

/**
 * @brief Check a bundle held in memory without applying it: magic (format 1
 * or 2), record framing, trailer digest and signature (in format 2 over the
 * site, time, count and key too), and every event's decoding and signature:
 * by runs (ns_verify_runs over up to 1024 records at a time), so an event
 * inside a run is authenticated by its run's last signature and its own
 * signature bytes are checked only after import (proofs: both signatures).
 * @p d names the first problem (with its byte offset).
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
