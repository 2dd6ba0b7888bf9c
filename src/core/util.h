/*
 * Small internal helpers shared by several modules (not public API).
 */
#ifndef NS_CORE_UTIL_H
#define NS_CORE_UTIL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Read a protobuf base-128 varint at *pos of p[0..len). Advances *pos.
 * Returns 0, or -1 if it is truncated or longer than 10 bytes.
 */
static inline int ns__varint_read(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
	uint64_t r = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (*pos >= len)
			return -1;
		uint8_t b = p[(*pos)++];
		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return -1;
}

/*
 * Read a whole small file (at most @max bytes) into a malloc'd,
 * NUL-terminated buffer. Returns 0, NS_EIO (errno set) or NS_ENOMEM, or
 * NS_EINVAL if the file is larger than @max.
 */
int ns__read_file(const char *path, size_t max, char **out, size_t *len);

#endif /* NS_CORE_UTIL_H */
