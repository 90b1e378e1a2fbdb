/*
 * Message bodies: typed builders, the pre-scan, decoding and validation
 * against the message table, and typed readers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc/ipc.h"
#include "ipc/ipc_priv.h"
#include "ipc/util.h"

/*
 * Frame header as built here: fixed widths so the length and the field
 * count can be patched in place when the message is finished.
 *	[0..3] length  [4] 0x93  [5] 0xcd type16  [8] 0xcf id64  [17] 0xde n16
 */
#define HDR_LEN		20
#define OFF_NFIELDS	18

static int
buf_write(void *data, const char *p, size_t n)
{
	struct ipc_buf	*b = data;
	size_t		 cap;

	if (n > IPC_MAX_FRAME || b->len + n > IPC_MAX_FRAME + 4)
		fatalx("ipc: %s message over IPC_MAX_FRAME",
		    ipc_msg_name(b->type));
	if (b->len + n > b->cap) {
		cap = b->cap;
		while (cap < b->len + n)
			cap *= 2;
		b->data = xreallocarray(b->data, cap, 1);
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

struct ipc_buf *
ipc_new(uint32_t type, uint64_t id)
{
	struct ipc_buf	*b;
	int		 i;

	if (ipc_msgdef(type) == NULL)
		fatalx("ipc_new: unknown type %u", type);
	b = xcalloc(1, sizeof(*b));
	b->type = type;
	b->cap = 256;
	b->data = xmalloc(b->cap);
	b->len = HDR_LEN;
	memset(b->data, 0, HDR_LEN);
	b->data[4] = 0x93;
	b->data[5] = 0xcd;
	b->data[6] = (type >> 8) & 0xff;
	b->data[7] = type & 0xff;
	b->data[8] = 0xcf;
	for (i = 0; i < 8; i++)
		b->data[9 + i] = (id >> (56 - 8 * i)) & 0xff;
	b->data[17] = 0xde;
	msgpack_packer_init(&b->pk, b, buf_write);
	for (i = 0; i < IPC_MAX_FDS; i++)
		b->fds[i] = -1;
	return b;
}

void
ipc_buf_free(struct ipc_buf *b)
{
	int	 i;

	if (b == NULL)
		return;
	for (i = 0; i < b->nfds; i++)
		if (b->close_fds[i] && b->fds[i] != -1)
			(void)close(b->fds[i]);
	free(b->data);
	free(b);
}

msgpack_packer *
ipc_add_key(struct ipc_buf *b, const char *key)
{
	if (b->finished)
		fatalx("ipc_add_key: %s already finished", ipc_msg_name(b->type));
	if (++b->nfields > IPC_MAX_FIELDS)
		fatalx("ipc_add_key: too many fields in %s",
		    ipc_msg_name(b->type));
	ipc_pk_str(&b->pk, key);
	return &b->pk;
}

void
ipc_pk_strn(msgpack_packer *pk, const char *s, size_t n)
{
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

void
ipc_pk_str(msgpack_packer *pk, const char *s)
{
	ipc_pk_strn(pk, s, strlen(s));
}

void
ipc_add_strn(struct ipc_buf *b, const char *key, const char *s, size_t n)
{
	ipc_pk_strn(ipc_add_key(b, key), s, n);
}

void
ipc_add_str(struct ipc_buf *b, const char *key, const char *s)
{
	ipc_add_strn(b, key, s, strlen(s));
}

void
ipc_add_bin(struct ipc_buf *b, const char *key, const void *p, size_t n)
{
	msgpack_packer	*pk = ipc_add_key(b, key);

	msgpack_pack_bin(pk, n);
	msgpack_pack_bin_body(pk, p, n);
}

void
ipc_add_u64(struct ipc_buf *b, const char *key, uint64_t v)
{
	msgpack_pack_uint64(ipc_add_key(b, key), v);
}

void
ipc_add_i64(struct ipc_buf *b, const char *key, int64_t v)
{
	msgpack_pack_int64(ipc_add_key(b, key), v);
}

void
ipc_add_bool(struct ipc_buf *b, const char *key, int v)
{
	msgpack_packer	*pk = ipc_add_key(b, key);

	if (v)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
}

void
ipc_add_f64(struct ipc_buf *b, const char *key, double v)
{
	msgpack_pack_double(ipc_add_key(b, key), v);
}

void
ipc_add_obj(struct ipc_buf *b, const char *key, const msgpack_object *o)
{
	msgpack_pack_object(ipc_add_key(b, key), *o);
}

void
ipc_add_fd(struct ipc_buf *b, int fd, int close_after)
{
	if (b->nfds >= IPC_MAX_FDS)
		fatalx("ipc_add_fd: too many fds");
	b->fds[b->nfds] = fd;
	b->close_fds[b->nfds] = close_after;
	b->nfds++;
}

const uint8_t *
ipc_buf_data(struct ipc_buf *b, size_t *len)
{
	uint32_t	 n;

	if (!b->finished) {
		n = (uint32_t)(b->len - 4);
		b->data[0] = (n >> 24) & 0xff;
		b->data[1] = (n >> 16) & 0xff;
		b->data[2] = (n >> 8) & 0xff;
		b->data[3] = n & 0xff;
		b->data[OFF_NFIELDS] = (b->nfields >> 8) & 0xff;
		b->data[OFF_NFIELDS + 1] = b->nfields & 0xff;
		b->finished = 1;
	}
	*len = b->len;
	return b->data;
}

/* ---- pre-scan ------------------------------------------------------ */

static uint64_t
be(const uint8_t *p, int n)
{
	uint64_t	 v = 0;
	int		 i;

	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/*
 * Walk one object at *pos. Every declared length is checked against what
 * is left before anything would be reserved for it.
 */
static int
scan(const uint8_t *p, size_t len, size_t *pos, int depth)
{
	uint8_t		 c;
	uint64_t	 n = 0, i;
	size_t		 left;
	int		 w = 0, kind = 0;	/* 1 str/bin, 2 array, 3 map */

	if (*pos >= len)
		return -1;
	c = p[(*pos)++];
	left = len - *pos;
	if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
		return 0;
	if (c >= 0x80 && c <= 0x8f) {
		n = c & 0x0f;
		kind = 3;
	} else if (c >= 0x90 && c <= 0x9f) {
		n = c & 0x0f;
		kind = 2;
	} else if (c >= 0xa0 && c <= 0xbf) {
		n = c & 0x1f;
		kind = 1;
	} else {
		switch (c) {
		case 0xc4: case 0xd9: w = 1; kind = 1; break;
		case 0xc5: case 0xda: w = 2; kind = 1; break;
		case 0xc6: case 0xdb: w = 4; kind = 1; break;
		case 0xca: w = 4; break;
		case 0xcb: w = 8; break;
		case 0xcc: case 0xd0: w = 1; break;
		case 0xcd: case 0xd1: w = 2; break;
		case 0xce: case 0xd2: w = 4; break;
		case 0xcf: case 0xd3: w = 8; break;
		case 0xdc: w = 2; kind = 2; break;
		case 0xdd: w = 4; kind = 2; break;
		case 0xde: w = 2; kind = 3; break;
		case 0xdf: w = 4; kind = 3; break;
		default:
			return -1;	/* 0xc1, ext types: not used here */
		}
		if ((size_t)w > left)
			return -1;
		if (kind == 0) {	/* a fixed-width scalar */
			*pos += w;
			return 0;
		}
		n = be(p + *pos, w);
		*pos += w;
		left -= w;
	}
	switch (kind) {
	case 1:
		if (n > left)
			return -1;
		*pos += n;
		return 0;
	case 2:
	case 3:
		if (depth >= IPC_MAX_DEPTH || n > IPC_MAX_CONTAINER)
			return -1;
		if (n * (kind == 3 ? 2 : 1) > left)
			return -1;
		for (i = 0; i < n * (kind == 3 ? 2 : 1); i++)
			if (scan(p, len, pos, depth + 1) == -1)
				return -1;
		return 0;
	}
	return -1;
}

int
ipc_prescan(const uint8_t *p, size_t len)
{
	size_t	 pos = 0;

	if (scan(p, len, &pos, 0) == -1)
		return -1;
	return pos == len ? 0 : -1;	/* trailing bytes */
}

/* ---- validation ---------------------------------------------------- */

static int
utf8_ok(const char *s, size_t n)
{
	const uint8_t	*p = (const uint8_t *)s;
	size_t		 i = 0;
	int		 k, j;
	uint32_t	 cp;

	while (i < n) {
		if (p[i] == 0)
			return 0;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0) {
			k = 1;
			cp = p[i] & 0x1f;
		} else if ((p[i] & 0xf0) == 0xe0) {
			k = 2;
			cp = p[i] & 0x0f;
		} else if ((p[i] & 0xf8) == 0xf0) {
			k = 3;
			cp = p[i] & 0x07;
		} else
			return 0;
		for (j = 1; j <= k; j++) {
			if (i + j >= n || (p[i + j] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + j] & 0x3f);
		}
		if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) ||
		    (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += k + 1;
	}
	return 1;
}

static int
type_ok(const msgpack_object *o, enum ipc_ftype t)
{
	switch (t) {
	case IPC_T_STR:
	case IPC_T_JSON:
		return o->type == MSGPACK_OBJECT_STR &&
		    utf8_ok(o->via.str.ptr, o->via.str.size);
	case IPC_T_BIN:
		return o->type == MSGPACK_OBJECT_BIN;
	case IPC_T_U64:
		return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
	case IPC_T_I64:
		return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ?
		    o->via.u64 <= INT64_MAX :
		    o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
	case IPC_T_BOOL:
		return o->type == MSGPACK_OBJECT_BOOLEAN;
	case IPC_T_F64:
		return o->type == MSGPACK_OBJECT_FLOAT32 ||
		    o->type == MSGPACK_OBJECT_FLOAT64 ||
		    o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
	case IPC_T_ARRAY:
		return o->type == MSGPACK_OBJECT_ARRAY;
	case IPC_T_MAP:
		return o->type == MSGPACK_OBJECT_MAP;
	case IPC_T_ANY:
		return 1;
	}
	return 0;
}

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int
ipc_decode(const uint8_t *p, size_t len, msgpack_zone *zone, int from, int to,
    int nfds, struct ipc_msg *m, char *err, size_t errlen)
{
	msgpack_object			 root, *a;
	const struct ipc_msgdef		*d;
	const struct ipc_field		*f;
	const msgpack_object_kv		*kv;
	size_t				 off = 0;
	uint32_t			 i, j, seen = 0;
	int				 r, nf;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < IPC_MAX_FDS; i++)
		m->fds[i] = -1;
	if (ipc_prescan(p, len) == -1)
		return fail(err, errlen, "malformed msgpack");
	r = msgpack_unpack((const char *)p, len, &off, zone, &root);
	if (r != MSGPACK_UNPACK_SUCCESS || off != len)
		return fail(err, errlen, "malformed msgpack");
	if (root.type != MSGPACK_OBJECT_ARRAY || root.via.array.size != 3)
		return fail(err, errlen, "frame is not [type, id, body]");
	a = root.via.array.ptr;
	if (a[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    a[0].via.u64 > UINT32_MAX ||
	    (d = ipc_msgdef((uint32_t)a[0].via.u64)) == NULL)
		return fail(err, errlen, "unknown message type");
	if (a[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return fail(err, errlen, "%s: bad id", d->name);
	if (a[2].type != MSGPACK_OBJECT_MAP)
		return fail(err, errlen, "%s: body is not a map", d->name);
	if (from >= 0 && !(d->senders & R(from)))
		return fail(err, errlen, "%s: not allowed from %s", d->name,
		    ipc_role_name(from));
	if (to >= 0 && !(d->receivers & R(to)))
		return fail(err, errlen, "%s: not for %s", d->name,
		    ipc_role_name(to));
	if (nfds > d->maxfds)
		return fail(err, errlen, "%s: %d fds, at most %d", d->name,
		    nfds, d->maxfds);
	for (nf = 0; d->fields[nf].name != NULL; nf++)
		;
	if (a[2].via.map.size > IPC_MAX_FIELDS)
		return fail(err, errlen, "%s: too many fields", d->name);
	for (i = 0; i < a[2].via.map.size; i++) {
		kv = &a[2].via.map.ptr[i];
		if (kv->key.type != MSGPACK_OBJECT_STR)
			return fail(err, errlen, "%s: non-string key", d->name);
		for (j = 0; j < (uint32_t)nf; j++) {
			f = &d->fields[j];
			if (strlen(f->name) == kv->key.via.str.size &&
			    memcmp(f->name, kv->key.via.str.ptr,
			    kv->key.via.str.size) == 0)
				break;
		}
		if (j == (uint32_t)nf)
			return fail(err, errlen, "%s: unknown field \"%.*s\"",
			    d->name, (int)(kv->key.via.str.size > 64 ? 64 :
			    kv->key.via.str.size), kv->key.via.str.ptr);
		if (seen & (1u << j))
			return fail(err, errlen, "%s: duplicate field %s",
			    d->name, d->fields[j].name);
		seen |= 1u << j;
		if (!type_ok(&kv->val, d->fields[j].type))
			return fail(err, errlen, "%s: field %s has the wrong "
			    "type", d->name, d->fields[j].name);
	}
	for (j = 0; j < (uint32_t)nf; j++)
		if (d->fields[j].required && !(seen & (1u << j)))
			return fail(err, errlen, "%s: missing field %s",
			    d->name, d->fields[j].name);
	m->type = (uint32_t)a[0].via.u64;
	m->id = a[1].via.u64;
	m->body = &a[2];
	return 0;
}

/* ---- readers ------------------------------------------------------- */

const msgpack_object *
ipc_obj_map_get(const msgpack_object *map, const char *key)
{
	size_t		 kl = strlen(key);
	uint32_t	 i;
	const msgpack_object_kv *kv;

	if (map == NULL || map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (i = 0; i < map->via.map.size; i++) {
		kv = &map->via.map.ptr[i];
		if (kv->key.type == MSGPACK_OBJECT_STR &&
		    kv->key.via.str.size == kl &&
		    memcmp(kv->key.via.str.ptr, key, kl) == 0)
			return &kv->val;
	}
	return NULL;
}

const msgpack_object *
ipc_get(const struct ipc_msg *m, const char *key)
{
	return ipc_obj_map_get(m->body, key);
}

int
ipc_obj_str(const msgpack_object *o, const char **p, size_t *len)
{
	if (o == NULL || o->type != MSGPACK_OBJECT_STR)
		return -1;
	*p = o->via.str.ptr;
	if (len != NULL)
		*len = o->via.str.size;
	return 0;
}

char *
ipc_obj_strdup(const msgpack_object *o)
{
	if (o == NULL || o->type != MSGPACK_OBJECT_STR ||
	    memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL)
		return NULL;
	return xstrndup(o->via.str.ptr, o->via.str.size);
}

int
ipc_obj_u64(const msgpack_object *o, uint64_t *v)
{
	if (o == NULL || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return -1;
	*v = o->via.u64;
	return 0;
}

int
ipc_get_str(const struct ipc_msg *m, const char *key, const char **p,
    size_t *len)
{
	return ipc_obj_str(ipc_get(m, key), p, len);
}

char *
ipc_get_strdup(const struct ipc_msg *m, const char *key)
{
	return ipc_obj_strdup(ipc_get(m, key));
}

int
ipc_get_bin(const struct ipc_msg *m, const char *key, const void **p,
    size_t *len)
{
	const msgpack_object	*o = ipc_get(m, key);

	if (o == NULL || o->type != MSGPACK_OBJECT_BIN)
		return -1;
	*p = o->via.bin.ptr;
	*len = o->via.bin.size;
	return 0;
}

int
ipc_get_u64(const struct ipc_msg *m, const char *key, uint64_t *v)
{
	return ipc_obj_u64(ipc_get(m, key), v);
}

int
ipc_get_i64(const struct ipc_msg *m, const char *key, int64_t *v)
{
	const msgpack_object	*o = ipc_get(m, key);

	if (o == NULL)
		return -1;
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		*v = o->via.i64;
	else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    o->via.u64 <= INT64_MAX)
		*v = (int64_t)o->via.u64;
	else
		return -1;
	return 0;
}

int
ipc_get_bool(const struct ipc_msg *m, const char *key, int *v)
{
	const msgpack_object	*o = ipc_get(m, key);

	if (o == NULL || o->type != MSGPACK_OBJECT_BOOLEAN)
		return -1;
	*v = o->via.boolean;
	return 0;
}

int
ipc_get_f64(const struct ipc_msg *m, const char *key, double *v)
{
	const msgpack_object	*o = ipc_get(m, key);

	if (o == NULL)
		return -1;
	switch (o->type) {
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		*v = o->via.f64;
		return 0;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		*v = (double)o->via.u64;
		return 0;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		*v = (double)o->via.i64;
		return 0;
	default:
		return -1;
	}
}
