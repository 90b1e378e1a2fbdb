/*
 * The message table, built from ipc/msgs.def, and role names.
 */
#include <string.h>

#include "ipc/ipc.h"

#define IPC_MSG_BEGIN(id, name, snd, rcv, fds) \
	static const struct ipc_field fields_##id[] = {
#define IPC_FIELD(name, type, req)	{ name, type, req },
#define IPC_MSG_END(id)			{ NULL, 0, 0 } };
#include "ipc/msgs.def"
#undef IPC_MSG_BEGIN
#undef IPC_FIELD
#undef IPC_MSG_END

#define IPC_MSG_BEGIN(id, name, snd, rcv, fds) \
	[IPC_MSG_##id] = { name, snd, rcv, fds, fields_##id },
#define IPC_FIELD(name, type, req)
#define IPC_MSG_END(id)
static const struct ipc_msgdef msgdefs[IPC_MSG_MAX] = {
#include "ipc/msgs.def"
};
#undef IPC_MSG_BEGIN
#undef IPC_FIELD
#undef IPC_MSG_END

static const char *const role_names[ROLE_MAX] = {
	[ROLE_SUPERVISOR] = "supervisor",
	[ROLE_AGENT] = "agent",
	[ROLE_FETCH] = "llm-fetch",
	[ROLE_STORE] = "store",
	[ROLE_TOOL] = "tool",
	[ROLE_CLIENT] = "client",
	[ROLE_BRIDGE] = "bridge",
	[ROLE_WEB] = "web",
	[ROLE_CRON] = "cron",
};

const struct ipc_msgdef *
ipc_msgdef(uint32_t type)
{
	if (type == IPC_MSG_NONE || type >= IPC_MSG_MAX)
		return NULL;
	return &msgdefs[type];
}

const char *
ipc_msg_name(uint32_t type)
{
	const struct ipc_msgdef	*d = ipc_msgdef(type);

	return d == NULL ? "?" : d->name;
}

const char *
ipc_role_name(enum ipc_role r)
{
	if ((unsigned)r >= ROLE_MAX)
		return "?";
	return role_names[r];
}

int
ipc_role_from_name(const char *s)
{
	int	 i;

	for (i = 0; i < ROLE_MAX; i++)
		if (strcmp(role_names[i], s) == 0)
			return i;
	return -1;
}
