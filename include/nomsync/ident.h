/*
 * Offender and case identifiers (docs/DOMAIN.md, identifiers).
 *
 * Pure predicates on NUL-terminated strings; NULL is never valid. Part of
 * the event module, so every layer above (validation, the fold, the store)
 * checks an identifier by the same code.
 */
#ifndef NOMSYNC_IDENT_H
#define NOMSYNC_IDENT_H

#ifdef __cplusplus
extern "C" {
#endif

/** @brief 1 if @p s is a NOMS number [A-Z][0-9]{4}[A-Z]{2}. */
int ns_is_noms(const char *s);
/** @brief 1 if @p s is a CRN [A-Z][0-9]{6}. */
int ns_is_crn(const char *s);
/**
 * @brief Check a PNC id, long (YYYY/NNNNNNNC) or short (YY/N..C) form, check
 * letter "ZABCDEFGHJKLMNPQRTUVWXY"[int(YY || serial7) mod 23].
 * @param[out] canonical optional, 14 bytes: the canonical long form
 * @return 1 if valid
 */
int ns_is_pnc(const char *s, char canonical[14]);
/** @brief Check a CRO number, NNNNNN/YYC or SFYY/NNNNNNC, mod-23 check letter. */
int ns_is_cro(const char *s);

#ifdef __cplusplus
}
#endif
#endif /* NOMSYNC_IDENT_H */
