/*
 * libFuzzer: a byte stream from a hostile peer through the frame reader
 * (length bound, pre-scan, msgpack unpack, validation against the table).
 */
#include <stddef.h>
#include <stdint.h>

#include "ipc/ipc_priv.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_reader	 rd;
	struct ipc_msg		 m;
	char			 err[256];
	size_t			 half = size / 2;
	int			 r, them;

	if (size < 1)
		return 0;
	them = data[0] % ROLE_MAX;
	data++;
	size--;
	half = size / 2;
	reader_init(&rd, ROLE_SUPERVISOR, them, 0);
	/* Two reads: frames split across them. */
	reader_feed(&rd, data, half);
	while ((r = reader_next(&rd, &m, err, sizeof(err))) == 1)
		(void)ipc_get(&m, "role");
	if (r == 0) {
		reader_feed(&rd, data + half, size - half);
		while (reader_next(&rd, &m, err, sizeof(err)) == 1) {
			const char	*s;
			size_t		 n;
			uint64_t	 v;

			(void)ipc_get_str(&m, "message", &s, &n);
			(void)ipc_get_u64(&m, "version", &v);
		}
	}
	reader_free(&rd);
	return 0;
}
