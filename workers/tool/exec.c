/*
 * Jobs: a command's process, its pipes, its timer. Output is read in
 * 64 KiB chunks straight into a bounded collector, so a command printing
 * a gigabyte costs the runner a few hundred KiB.
 */
#include <sys/queue.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "ipc/util.h"
#include "workers/tool/exec.h"
#include "workers/tool/tool.h"

#define STATE_GRACE_MS	2000	/* after the process is reaped, pipes
				   still open this long are abandoned */

/*
 * The wrapper. Bash reads it from -c; $1 is the model's command, run by
 * eval as Hermes does. fd 3 keeps the original stderr (the state pipe)
 * and is closed for the command itself; the command's stderr goes to its
 * stdout. On exit (normal or `exit N` in the command) the EXIT trap
 * writes the physical cwd, a NUL, then `export -p` (builtins only: no
 * fork for the state).
 */
const char tool_wrapper_script[] =
	"exec 3>&2 2>&1\n"
	"trap '{ builtin pwd -P; builtin printf \"\\0\"; builtin export -p; } "
	">&3 2>/dev/null' EXIT\n"
	"__hermes_cmd=$1; shift\n"
	"eval \"$__hermes_cmd\" 3>&-\n";

struct tool_job {
	LIST_ENTRY(tool_job)	 entry;
	struct event_base	*base;
	const struct tool_backend *be;
	char			*command;
	pid_t			 pid;
	int			 outfd;
	int			 statefd;
	int			 infd;		/* background stdin, or -1 */
	struct event		*ev_out;
	struct event		*ev_state;
	struct event		*ev_timer;
	struct event		*ev_grace;
	struct tool_out		*out;		/* foreground */
	char			*ring;		/* background */
	size_t			 ring_pos;
	size_t			 ring_len;
	struct tool_sb		 state;
	int			 state_over;
	int			 background;
	int			 reaped;
	int			 status;
	int			 finished;	/* done() called */
	unsigned		 timeout_s;
	enum tool_job_end	 end;
	uint64_t		 start_ms;
	uint64_t		 end_ms;
	tool_job_cb		 done;
	void			*arg;
};

static LIST_HEAD(, tool_job) jobs = LIST_HEAD_INITIALIZER(jobs);

/* ---- shell state ----------------------------------------------------- */

void
tool_shstate_init(struct tool_shstate *st, char *const *env, const char *cwd)
{
	size_t	 n = 0, i;

	while (env != NULL && env[n] != NULL)
		n++;
	st->env = xcalloc(n + 1, sizeof(char *));
	for (i = 0; i < n; i++)
		st->env[i] = xstrdup(env[i]);
	st->nenv = n;
	st->cwd = cwd ? xstrdup(cwd) : NULL;
}

void
tool_shstate_free(struct tool_shstate *st)
{
	size_t	 i;

	for (i = 0; i < st->nenv; i++)
		free(st->env[i]);
	free(st->env);
	free(st->cwd);
	memset(st, 0, sizeof(*st));
}

static int
skip_var(const char *kv)
{
	static const char *const skip[] = { "PWD=", "OLDPWD=", "SHLVL=", "_=",
	    "BASH_EXECUTION_STRING=" };
	size_t	 i;

	for (i = 0; i < nitems(skip); i++)
		if (strncmp(kv, skip[i], strlen(skip[i])) == 0)
			return 1;
	return 0;
}

/* Octal/hex digit values for $'...' escapes. */
static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * One `export -p` line: declare -x NAME, declare -x NAME="v" (\" \\ \$
 * \` escaped) or declare -x NAME=$'v' (ANSI-C escapes). Returns the
 * bytes used (0: malformed), NAME=value in *kv (NULL: no value).
 */
static size_t
parse_decl(const char *p, const char *e, char **kv)
{
	const char	*q = p, *name;
	struct tool_sb	 sb = { 0 };

	*kv = NULL;
	if ((size_t)(e - q) < 11 || strncmp(q, "declare -", 9) != 0)
		return 0;
	q += 9;
	while (q < e && *q != ' ')
		q++;
	if (q >= e)
		return 0;
	q++;
	name = q;
	while (q < e && *q != '=' && *q != '\n')
		q++;
	if (q >= e || *q == '\n')
		return (size_t)(q - p) + (q < e);
	tool_sb_add(&sb, name, (size_t)(q - name) + 1);
	q++;
	if (q < e && *q == '"') {
		for (q++; q < e && *q != '"'; q++) {
			if (*q == '\\' && q + 1 < e)
				q++;
			tool_sb_addc(&sb, *q);
		}
		if (q >= e)
			goto bad;
		q++;
	} else if (q + 1 < e && q[0] == '$' && q[1] == '\'') {
		for (q += 2; q < e && *q != '\''; q++) {
			int c = (unsigned char)*q, v, k;
			if (c != '\\' || q + 1 >= e) {
				tool_sb_addc(&sb, (char)c);
				continue;
			}
			c = (unsigned char)*++q;
			switch (c) {
			case 'a': tool_sb_addc(&sb, '\a'); break;
			case 'b': tool_sb_addc(&sb, '\b'); break;
			case 'e': case 'E': tool_sb_addc(&sb, 033); break;
			case 'f': tool_sb_addc(&sb, '\f'); break;
			case 'n': tool_sb_addc(&sb, '\n'); break;
			case 'r': tool_sb_addc(&sb, '\r'); break;
			case 't': tool_sb_addc(&sb, '\t'); break;
			case 'v': tool_sb_addc(&sb, '\v'); break;
			case 'x':
				for (v = 0, k = 0; k < 2 && q + 1 < e &&
				    hexval((unsigned char)q[1]) >= 0; k++)
					v = v * 16 + hexval((unsigned char)*++q);
				tool_sb_addc(&sb, (char)v);
				break;
			default:
				if (c >= '0' && c <= '7') {
					for (v = c - '0', k = 1; k < 3 && q + 1 < e &&
					    q[1] >= '0' && q[1] <= '7'; k++)
						v = v * 8 + (*++q - '0');
					tool_sb_addc(&sb, (char)v);
				} else
					tool_sb_addc(&sb, (char)c);
			}
		}
		if (q >= e)
			goto bad;
		q++;
	} else
		goto bad;
	if (q < e && *q != '\n')
		goto bad;
	if (memchr(sb.s, '\0', sb.len) == NULL)
		*kv = tool_sb_take(&sb);
	tool_sb_free(&sb);
	return (size_t)(q - p) + (q < e);
bad:
	tool_sb_free(&sb);
	return 0;
}

int
tool_shstate_parse(struct tool_shstate *st, const char *s, size_t n)
{
	const char	*p = s, *e = s + n, *z;
	char		**env = NULL, *cwd, *kv;
	size_t		 ne = 0, i, used;

	z = memchr(p, '\0', n);
	if (z == NULL || z == p)
		return -1;
	/* "pwd\n" then NUL */
	if (z[-1] == '\n')
		cwd = xstrndup(p, (size_t)(z - p - 1));
	else
		cwd = xstrndup(p, (size_t)(z - p));
	if (cwd[0] != '/') {
		free(cwd);
		return -1;
	}
	p = z + 1;
	env = xcalloc(1, sizeof(char *));
	while (p < e) {
		if ((used = parse_decl(p, e, &kv)) == 0) {
			for (i = 0; i < ne; i++)
				free(env[i]);
			free(env);
			free(cwd);
			return -1;
		}
		p += used;
		if (kv == NULL)
			continue;
		if (skip_var(kv)) {
			free(kv);
			continue;
		}
		env = xreallocarray(env, ne + 2, sizeof(char *));
		env[ne++] = kv;
		env[ne] = NULL;
	}
	for (i = 0; i < st->nenv; i++)
		free(st->env[i]);
	free(st->env);
	free(st->cwd);
	st->env = env;
	st->nenv = ne;
	st->cwd = cwd;
	return 0;
}

/* ---- jobs -------------------------------------------------------------- */

static void
ring_put(struct tool_job *j, const char *p, size_t n)
{
	size_t	 k;

	if (n > TOOL_BG_BUFFER) {
		p += n - TOOL_BG_BUFFER;
		n = TOOL_BG_BUFFER;
	}
	while (n > 0) {
		k = TOOL_BG_BUFFER - j->ring_pos;
		if (k > n)
			k = n;
		memcpy(j->ring + j->ring_pos, p, k);
		j->ring_pos = (j->ring_pos + k) % TOOL_BG_BUFFER;
		j->ring_len = j->ring_len + k > TOOL_BG_BUFFER ? TOOL_BG_BUFFER :
		    j->ring_len + k;
		p += k;
		n -= k;
	}
}

static void
maybe_finish(struct tool_job *j)
{
	if (j->finished || !j->reaped)
		return;
	if (j->outfd != -1 || j->statefd != -1) {
		struct timeval tv = { STATE_GRACE_MS / 1000,
		    (STATE_GRACE_MS % 1000) * 1000 };
		if (!evtimer_pending(j->ev_grace, NULL))
			evtimer_add(j->ev_grace, &tv);
		return;
	}
	j->finished = 1;
	j->end_ms = now_ms();
	evtimer_del(j->ev_timer);
	evtimer_del(j->ev_grace);
	if (j->done)
		j->done(j, j->arg);
}

static void
close_out(struct tool_job *j)
{
	if (j->ev_out) {
		event_free(j->ev_out);
		j->ev_out = NULL;
	}
	if (j->outfd != -1) {
		close(j->outfd);
		j->outfd = -1;
	}
}

static void
close_state(struct tool_job *j)
{
	if (j->ev_state) {
		event_free(j->ev_state);
		j->ev_state = NULL;
	}
	if (j->statefd != -1) {
		close(j->statefd);
		j->statefd = -1;
	}
}

static void
on_out(evutil_socket_t fd, short ev, void *arg)
{
	struct tool_job	*j = arg;
	char		 buf[65536];
	ssize_t		 r;
	int		 rounds;

	/* Drain a bounded amount per wake-up so other jobs get a turn. */
	for (rounds = 0; rounds < 16; rounds++) {
		r = read(fd, buf, sizeof(buf));
		if (r > 0) {
			if (j->background)
				ring_put(j, buf, (size_t)r);
			else
				tool_out_add(j->out, buf, (size_t)r);
			continue;
		}
		if (r == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		close_out(j);
		maybe_finish(j);
		return;
	}
}

static void
on_state(evutil_socket_t fd, short ev, void *arg)
{
	struct tool_job	*j = arg;
	char		 buf[16384];
	ssize_t		 r;

	r = read(fd, buf, sizeof(buf));
	if (r > 0) {
		if (j->state.len + (size_t)r > TOOL_STATE_MAX)
			j->state_over = 1;
		else
			tool_sb_add(&j->state, buf, (size_t)r);
		return;
	}
	if (r == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	close_state(j);
	maybe_finish(j);
}

static void
on_timeout(evutil_socket_t fd, short ev, void *arg)
{
	tool_job_kill(arg, TOOL_END_TIMEOUT);
}

static void
on_grace(evutil_socket_t fd, short ev, void *arg)
{
	struct tool_job	*j = arg;

	close_out(j);
	close_state(j);
	maybe_finish(j);
}

static void
free_argv(char **v)
{
	size_t	 i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

struct tool_job *
tool_job_start(struct event_base *base, const struct tool_backend *be,
    const struct tool_job_spec *sp, tool_job_cb done, void *arg, char *err,
    size_t errlen)
{
	struct tool_job	*j;
	int		 op[2], sp2[2], ip[2] = { -1, -1 };
	char		**argv;
	const char	*cwd;

	if (pipe2(op, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return NULL;
	}
	if (pipe2(sp2, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		close(op[0]);
		close(op[1]);
		return NULL;
	}
	if (sp->stdin_fd > 0)
		ip[0] = sp->stdin_fd;
	else if (sp->background && pipe2(ip, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		close(op[0]);
		close(op[1]);
		close(sp2[0]);
		close(sp2[1]);
		return NULL;
	}
	cwd = sp->cwd ? sp->cwd : sp->state ? sp->state->cwd : NULL;
	argv = be->argv(be->arg, sp->command, cwd, sp->background);
	j = xcalloc(1, sizeof(*j));
	j->base = base;
	j->be = be;
	j->command = xstrdup(sp->command);
	j->outfd = op[0];
	j->statefd = sp2[0];
	j->infd = ip[1];
	j->background = sp->background;
	j->timeout_s = sp->timeout_s;
	j->done = done;
	j->arg = arg;
	j->end = TOOL_END_EXIT;
	j->start_ms = now_ms();
	if (sp->background)
		j->ring = xmalloc(TOOL_BG_BUFFER);
	else
		j->out = tool_out_new(sp->max_chars ? sp->max_chars :
		    TOOL_MAX_OUTPUT);
	{
		char **env = sp->state ? sp->state->env : NULL, **all = NULL;
		size_t ne = 0, nx = 0, k;
		if (sp->extra_env != NULL) {
			while (env != NULL && env[ne] != NULL)
				ne++;
			while (sp->extra_env[nx] != NULL)
				nx++;
			all = xcalloc(ne + nx + 1, sizeof(char *));
			for (k = 0; k < ne; k++)
				all[k] = env[k];
			for (k = 0; k < nx; k++)
				all[ne + k] = (char *)sp->extra_env[k];
			env = all;
		}
		j->pid = be->spawn(be->arg, argv, env, cwd, ip[0], op[1],
		    sp2[1], err, errlen);
		free(all);
	}
	free_argv(argv);
	close(op[1]);
	close(sp2[1]);
	if (ip[0] != -1)
		close(ip[0]);
	if (j->pid == -1) {
		close(op[0]);
		close(sp2[0]);
		if (ip[1] != -1)
			close(ip[1]);
		tool_out_free(j->out);
		free(j->ring);
		free(j->command);
		free(j);
		return NULL;
	}
	(void)set_nonblock(j->outfd);
	(void)set_nonblock(j->statefd);
	if (j->infd != -1)
		(void)set_nonblock(j->infd);
	j->ev_out = event_new(base, j->outfd, EV_READ | EV_PERSIST, on_out, j);
	j->ev_state = event_new(base, j->statefd, EV_READ | EV_PERSIST,
	    on_state, j);
	j->ev_timer = evtimer_new(base, on_timeout, j);
	j->ev_grace = evtimer_new(base, on_grace, j);
	if (j->ev_out == NULL || j->ev_state == NULL || j->ev_timer == NULL ||
	    j->ev_grace == NULL)
		fatalx("event_new");
	event_add(j->ev_out, NULL);
	event_add(j->ev_state, NULL);
	if (sp->timeout_s > 0) {
		struct timeval tv = { (time_t)sp->timeout_s, 0 };
		evtimer_add(j->ev_timer, &tv);
	}
	LIST_INSERT_HEAD(&jobs, j, entry);
	return j;
}

void
tool_job_kill(struct tool_job *j, enum tool_job_end why)
{
	if (j->reaped)
		return;
	if (j->end == TOOL_END_EXIT)
		j->end = why;
	j->be->kill(j->be->arg, j->pid);
}

int
tool_job_reaped(pid_t pid, int status)
{
	struct tool_job	*j;

	LIST_FOREACH(j, &jobs, entry) {
		if (j->pid != pid || j->reaped)
			continue;
		j->reaped = 1;
		j->status = status;
		if (j->be->reaped)
			j->be->reaped(j->be->arg, pid);
		if (j->infd != -1) {
			close(j->infd);
			j->infd = -1;
		}
		maybe_finish(j);
		return 1;
	}
	return 0;
}

void	(*tool_reap_other)(pid_t, int);

void
tool_reap_children(void)
{
	pid_t	 pid;
	int	 st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		if (!tool_job_reaped(pid, st) && tool_reap_other != NULL)
			tool_reap_other(pid, st);
}

void
tool_job_free(struct tool_job *j)
{
	if (j == NULL)
		return;
	if (!j->reaped) {
		/* never leave a process behind */
		j->be->kill(j->be->arg, j->pid);
		if (waitpid(j->pid, &j->status, 0) == j->pid && j->be->reaped)
			j->be->reaped(j->be->arg, j->pid);
	}
	LIST_REMOVE(j, entry);
	close_out(j);
	close_state(j);
	if (j->infd != -1)
		close(j->infd);
	if (j->ev_timer)
		event_free(j->ev_timer);
	if (j->ev_grace)
		event_free(j->ev_grace);
	tool_out_free(j->out);
	free(j->ring);
	tool_sb_free(&j->state);
	free(j->command);
	free(j);
}

pid_t
tool_job_pid(const struct tool_job *j)
{
	return j->pid;
}

int
tool_job_done(const struct tool_job *j)
{
	return j->finished;
}

int
tool_job_exit_code(const struct tool_job *j)
{
	if (WIFEXITED(j->status))
		return WEXITSTATUS(j->status);
	if (WIFSIGNALED(j->status))
		return 128 + WTERMSIG(j->status);
	return -1;
}

enum tool_job_end
tool_job_end(const struct tool_job *j)
{
	return j->end;
}

uint64_t
tool_job_elapsed_ms(const struct tool_job *j)
{
	return (j->finished ? j->end_ms : now_ms()) - j->start_ms;
}

const char *
tool_job_command(const struct tool_job *j)
{
	return j->command;
}

char *
tool_job_output(const struct tool_job *j)
{
	char	 sfx[64];

	if (j->out == NULL)
		return tool_job_tail(j, TOOL_MAX_OUTPUT);
	switch (j->end) {
	case TOOL_END_TIMEOUT:
		snprintf(sfx, sizeof(sfx), "\n[Command timed out after %us]",
		    j->timeout_s);
		break;
	case TOOL_END_CANCEL:
	case TOOL_END_KILLED:
		strlcpy(sfx, "\n[Command interrupted]", sizeof(sfx));
		break;
	default:
		sfx[0] = '\0';
	}
	return tool_out_render(j->out, sfx);
}

char *
tool_job_tail(const struct tool_job *j, size_t chars)
{
	struct tool_sb	 sb = { 0 };
	size_t		 i, c = 0, start;

	if (j->ring == NULL)
		return xstrdup("");
	if (j->ring_len == TOOL_BG_BUFFER) {
		tool_sb_add(&sb, j->ring + j->ring_pos, TOOL_BG_BUFFER -
		    j->ring_pos);
		tool_sb_add(&sb, j->ring, j->ring_pos);
	} else
		tool_sb_add(&sb, j->ring, j->ring_len);
	if (sb.s == NULL)
		return xstrdup("");
	start = 0;
	if (chars > 0) {
		for (i = sb.len; i > 0; i--) {
			if (((unsigned char)sb.s[i - 1] & 0xc0) != 0x80 &&
			    ++c == chars) {
				start = i - 1;
				break;
			}
		}
	}
	if (start > 0) {
		struct tool_sb t = { 0 };
		tool_sb_add(&t, sb.s + start, sb.len - start);
		tool_sb_free(&sb);
		return tool_nul_visible(&t);
	}
	return tool_nul_visible(&sb);
}

const char *
tool_job_state(const struct tool_job *j, size_t *len)
{
	if (j->state_over || j->state.len == 0 || j->end != TOOL_END_EXIT)
		return NULL;
	*len = j->state.len;
	return j->state.s;
}

int
tool_job_write(struct tool_job *j, const char *p, size_t n, int close_after)
{
	ssize_t	 w;
	size_t	 off = 0;
	int	 tries = 0;

	if (j->infd == -1)
		return -1;
	while (off < n) {
		w = write(j->infd, p + off, n - off);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w == -1 && (errno == EAGAIN || errno == EINTR) &&
		    ++tries < 100) {
			usleep(1000);
			continue;
		}
		return -1;
	}
	if (close_after)
		return tool_job_close_stdin(j);
	return 0;
}

int
tool_job_close_stdin(struct tool_job *j)
{
	if (j->infd == -1)
		return -1;
	close(j->infd);
	j->infd = -1;
	return 0;
}

int
tool_job_has_stdin(const struct tool_job *j)
{
	return j->infd != -1;
}
