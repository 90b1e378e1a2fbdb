/*
 * libFuzzer: one frame payload through ipc_decode() for every pair of
 * roles, then every typed reader over the fields it accepted.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ipc/ipc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	msgpack_zone		 zone;
	struct ipc_msg		 m;
	const struct ipc_msgdef	*d;
	const struct ipc_field	*f;
	char			 err[256], *s;
	const char		*p;
	const void		*bp;
	size_t			 n;
	uint64_t		 u;
	int64_t			 i;
	double			 x;
	int			 b;

	if (size < 2)
		return 0;
	msgpack_zone_init(&zone, 1024);
	if (ipc_decode(data + 2, size - 2, &zone, data[0] % ROLE_MAX,
	    data[1] % ROLE_MAX, data[1] >> 6, &m, err, sizeof(err)) == 0) {
		d = ipc_msgdef(m.type);
		for (f = d->fields; f->name != NULL; f++) {
			(void)ipc_get_str(&m, f->name, &p, &n);
			(void)ipc_get_u64(&m, f->name, &u);
			(void)ipc_get_i64(&m, f->name, &i);
			(void)ipc_get_f64(&m, f->name, &x);
			(void)ipc_get_bool(&m, f->name, &b);
			(void)ipc_get_bin(&m, f->name, &bp, &n);
			free(ipc_get_strdup(&m, f->name));
		}
		s = NULL;
		(void)s;
	}
	msgpack_zone_destroy(&zone);
	return 0;
}
