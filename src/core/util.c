/*
 * Small internal helpers shared by several modules.
 */
#include "core/util.h"

#include <nomsync/error.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int ns__read_file(const char *path, size_t max, char **out, size_t *len)
{
	FILE *f = fopen(path, "re");
	long n;
	char *buf;

	*out = NULL;
	if (f == NULL)
		return NS_EIO;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return NS_EIO;
	}
	if ((size_t)n > max) {
		fclose(f);
		return NS_EINVAL;
	}
	if ((buf = malloc((size_t)n + 1)) == NULL) {
		fclose(f);
		return NS_ENOMEM;
	}
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		int e = errno;
		free(buf);
		fclose(f);
		errno = e;
		return NS_EIO;
	}
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	*len = (size_t)n;
	return 0;
}
