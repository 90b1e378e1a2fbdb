/*
 * Output: escape codes only on a terminal, and never from the model.
 * Text from the agent (answers, tool output, session titles) passes
 * through cli_sanitize() so a prompt-injected model cannot drive the
 * user's terminal with escape sequences.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "ipc/util.h"
#include "cli/cli.h"

static const struct {
	const char	*name;
	const char	*seq;
} styles[] = {
	{ "dim",	"\033[2m" },
	{ "bold",	"\033[1m" },
	{ "red",	"\033[31m" },
	{ "yellow",	"\033[33m" },
	{ "green",	"\033[32m" },
	{ "cyan",	"\033[36m" },
};

void
cli_out_init(struct cli_out *o, FILE *fp, int force_plain)
{
	const char	*term = getenv("TERM");

	o->fp = fp;
	o->col = 0;
	o->tty = !force_plain && isatty(fileno(fp)) && getenv("NO_COLOR") == NULL &&
	    (term == NULL || strcmp(term, "dumb") != 0);
}

size_t
cli_sanitize(char *dst, size_t dstlen, const char *src, size_t len,
    int keep_nl)
{
	size_t	 i, o = 0;

	if (dstlen == 0)
		return 0;
	for (i = 0; i < len && o + 1 < dstlen; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c == '\n' && keep_nl)
			dst[o++] = '\n';
		else if (c == '\t' && keep_nl)
			dst[o++] = '\t';
		else if (c < 0x20 || c == 0x7f)
			dst[o++] = c == '\n' || c == '\t' ? ' ' : '?';
		else if (c == 0xc2 && i + 1 < len &&
		    (unsigned char)src[i + 1] >= 0x80 &&
		    (unsigned char)src[i + 1] <= 0x9f) {
			/* C1 controls (U+0080..U+009F, e.g. CSI). */
			dst[o++] = '?';
			i++;
		} else
			dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return o;
}

void
cli_out_text(struct cli_out *o, const char *s, size_t len)
{
	char	 buf[4096];
	size_t	 n, chunk;

	while (len > 0) {
		chunk = len > sizeof(buf) / 2 ? sizeof(buf) / 2 : len;
		/* Do not split a C1 pair. */
		if (chunk < len && (unsigned char)s[chunk - 1] == 0xc2)
			chunk--;
		if (chunk == 0)
			chunk = 1;
		n = cli_sanitize(buf, sizeof(buf), s, chunk, 1);
		if (n > 0) {
			fwrite(buf, 1, n, o->fp);
			o->col = buf[n - 1] != '\n';
		}
		s += chunk;
		len -= chunk;
	}
	fflush(o->fp);
}

void
cli_out_eol(struct cli_out *o)
{
	if (o->col) {
		fputc('\n', o->fp);
		o->col = 0;
	}
}

void
cli_out_style(struct cli_out *o, const char *style)
{
	size_t	 i;

	if (!o->tty)
		return;
	for (i = 0; i < nitems(styles); i++)
		if (strcmp(styles[i].name, style) == 0) {
			fputs(styles[i].seq, o->fp);
			return;
		}
}

void
cli_out_reset(struct cli_out *o)
{
	if (o->tty)
		fputs("\033[0m", o->fp);
}

size_t
cli_fmt_duration(char *buf, size_t len, uint64_t ms)
{
	int	 n;

	if (ms < 1000)
		n = snprintf(buf, len, "%" PRIu64 "ms", ms);
	else if (ms < 60000)
		n = snprintf(buf, len, "%.1fs", (double)ms / 1000.0);
	else if (ms < 3600000)
		n = snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s",
		    ms / 60000, (ms / 1000) % 60);
	else if (ms < 86400000)
		n = snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m",
		    ms / 3600000, (ms / 60000) % 60);
	else
		n = snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h",
		    ms / 86400000, (ms / 3600000) % 24);
	return n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n;
}

size_t
cli_fmt_rss(char *buf, size_t len, uint64_t kb)
{
	int	 n;

	if (kb < 10240)
		n = snprintf(buf, len, "%" PRIu64 "K", kb);
	else
		n = snprintf(buf, len, "%.1fM", (double)kb / 1024.0);
	return n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n;
}

/* One line, control characters and runs of blanks squeezed, cut at max
 * characters (UTF-8 aware) with "..." */
size_t
cli_fmt_summary(char *buf, size_t len, const char *text, size_t max)
{
	size_t	 o = 0, chars = 0, i, n;
	int	 space = 0;

	if (len == 0)
		return 0;
	for (i = 0; text[i] != '\0'; i += n) {
		unsigned char c = (unsigned char)text[i];

		n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 :
		    c >= 0xc0 ? 2 : 1;
		if (c < 0x20 || c == 0x7f || c == ' ') {
			space = o > 0;
			continue;
		}
		if (chars + (space ? 1 : 0) >= max) {
			if (o + 4 <= len) {
				memcpy(buf + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (space) {
			if (o + 2 > len)
				break;
			buf[o++] = ' ';
			chars++;
			space = 0;
		}
		if (o + n + 1 > len)
			break;
		/* Truncated UTF-8 at the end of the input: stop. */
		if (memchr(text + i, '\0', n) != NULL)
			break;
		if (c == 0xc2 && (unsigned char)text[i + 1] < 0xa0) {
			buf[o++] = '?';
		} else {
			memcpy(buf + o, text + i, n);
			o += n;
		}
		chars++;
	}
	buf[o] = '\0';
	return o;
}

/* The argument that says most about a tool call, by key, in order. */
static const char *const arg_keys[] = { "command", "path", "pattern",
    "query", "url", "name", "action", "code", "goal", "content" };

size_t
cli_fmt_args(char *buf, size_t len, const char *args, size_t max)
{
	json_t		*j, *v;
	const char	*k, *pick = NULL;
	size_t		 i, n;

	if (args == NULL || args[0] != '{' ||
	    (j = json_loads(args, 0, NULL)) == NULL)
		return cli_fmt_summary(buf, len, args ? args : "", max);
	for (i = 0; i < nitems(arg_keys) && pick == NULL; i++)
		if (json_is_string(v = json_object_get(j, arg_keys[i])))
			pick = json_string_value(v);
	if (pick == NULL)
		json_object_foreach(j, k, v)
			if (pick == NULL && json_is_string(v))
				pick = json_string_value(v);
	n = cli_fmt_summary(buf, len, pick != NULL ? pick : "", max);
	json_decref(j);
	return n;
}

size_t
cli_fmt_tool_line(char *buf, size_t len, const char *name, const char *args,
    uint64_t ms, int ok, const char *outcome)
{
	char	 sum[CLI_SUMMARY_MAX * 4 + 8], dur[32], out[CLI_SUMMARY_MAX * 4 + 8];
	int	 n;

	cli_fmt_args(sum, sizeof(sum), args, CLI_SUMMARY_MAX);
	cli_fmt_summary(out, sizeof(out), outcome ? outcome : "",
	    CLI_SUMMARY_MAX);
	cli_fmt_duration(dur, sizeof(dur), ms);
	if (sum[0] != '\0')
		n = snprintf(buf, len, "  [%s] %s  (%s) %s%s%s", name, sum,
		    dur, ok ? "ok" : "failed", out[0] ? ": " : "", out);
	else
		n = snprintf(buf, len, "  [%s]  (%s) %s%s%s", name, dur,
		    ok ? "ok" : "failed", out[0] ? ": " : "", out);
	return n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n;
}

void
cli_print_status(struct cli_out *o, uint64_t pid, uint64_t uptime_ms,
    const struct cli_worker_row *w, size_t n)
{
	char	 up[32], rss[32], role[64], state[64];
	size_t	 i;

	cli_fmt_duration(up, sizeof(up), uptime_ms);
	fprintf(o->fp, "hermesd pid %" PRIu64 ", up %s\n", pid, up);
	cli_out_style(o, "bold");
	fprintf(o->fp, "%-16s %8s  %-10s %8s %8s %8s", "ROLE", "PID", "STATE",
	    "UPTIME", "RESTARTS", "RSS");
	cli_out_reset(o);
	fputc('\n', o->fp);
	for (i = 0; i < n; i++) {
		cli_sanitize(role, sizeof(role), w[i].role, strlen(w[i].role), 0);
		cli_sanitize(state, sizeof(state), w[i].state,
		    strlen(w[i].state), 0);
		cli_fmt_duration(up, sizeof(up), w[i].uptime_ms);
		cli_fmt_rss(rss, sizeof(rss), w[i].rss_kb);
		fprintf(o->fp, "%-16s %8" PRIu64 "  ", role, w[i].pid);
		if (strcmp(state, "ready") == 0 || strcmp(state, "running") == 0)
			cli_out_style(o, "green");
		else if (strcmp(state, "failed") == 0)
			cli_out_style(o, "red");
		else
			cli_out_style(o, "yellow");
		fprintf(o->fp, "%-10s", state);
		cli_out_reset(o);
		fprintf(o->fp, " %8s %8" PRIu64 " %8s\n", up, w[i].restarts,
		    rss);
	}
	fflush(o->fp);
}

/*
 * One value as an outline line: "key: scalar", or "key:" and its members
 * indented. Array elements start with "- "; an object element puts its
 * first member on the dash line (as YAML does). dash: 0 indent, 1 "- "
 * first, 2 continue the current line.
 */
static void
print_json_value(struct cli_out *o, json_t *v, int depth, const char *key,
    int dash)
{
	char		 buf[1024];
	const char	*k;
	json_t		*c;
	size_t		 i;
	int		 first = 1;

	if (dash == 1)
		fprintf(o->fp, "%*s- ", (depth - 1) * 2, "");
	else if (dash == 0)
		fprintf(o->fp, "%*s", depth * 2, "");
	if (key != NULL) {
		cli_sanitize(buf, sizeof(buf), key, strlen(key), 0);
		cli_out_style(o, "bold");
		fprintf(o->fp, "%s:", buf);
		cli_out_reset(o);
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		if (key == NULL && dash == 1) {
			/* "- first: x" then the rest under it. */
			if (json_object_size(v) == 0)
				fputs("{}\n", o->fp);
			json_object_foreach(v, k, c) {
				print_json_value(o, c, depth, k, first ? 2 : 0);
				first = 0;
			}
			return;
		}
		fputc('\n', o->fp);
		json_object_foreach(v, k, c)
			print_json_value(o, c, depth + 1, k, 0);
		return;
	case JSON_ARRAY:
		if (json_array_size(v) == 0) {
			fputs(key ? " -\n" : "-\n", o->fp);
			return;
		}
		fputc('\n', o->fp);
		json_array_foreach(v, i, c)
			print_json_value(o, c, depth + 2, NULL, 1);
		return;
	case JSON_STRING:
		cli_sanitize(buf, sizeof(buf), json_string_value(v),
		    json_string_length(v), 0);
		if (strcmp(buf, "ok") == 0 || strcmp(buf, "enforced") == 0 ||
		    strcmp(buf, "ready") == 0)
			cli_out_style(o, "green");
		else if (strcmp(buf, "failed") == 0 ||
		    strcmp(buf, "missing") == 0 || strcmp(buf, "off") == 0)
			cli_out_style(o, "red");
		fprintf(o->fp, "%s%s", key ? " " : "", buf);
		cli_out_reset(o);
		break;
	case JSON_INTEGER:
		fprintf(o->fp, "%s%" JSON_INTEGER_FORMAT, key ? " " : "",
		    json_integer_value(v));
		break;
	case JSON_REAL:
		fprintf(o->fp, "%s%g", key ? " " : "", json_real_value(v));
		break;
	case JSON_TRUE:
		cli_out_style(o, "green");
		fprintf(o->fp, "%syes", key ? " " : "");
		cli_out_reset(o);
		break;
	case JSON_FALSE:
		cli_out_style(o, "yellow");
		fprintf(o->fp, "%sno", key ? " " : "");
		cli_out_reset(o);
		break;
	case JSON_NULL:
		fprintf(o->fp, "%s-", key ? " " : "");
		break;
	}
	fputc('\n', o->fp);
}

void
cli_print_json(struct cli_out *o, const char *text)
{
	json_error_t	 jerr;
	json_t		*root, *c;
	const char	*k;
	size_t		 i;

	if ((root = json_loads(text, JSON_DECODE_ANY, &jerr)) == NULL) {
		cli_out_text(o, text, strlen(text));
		cli_out_eol(o);
		return;
	}
	if (json_is_object(root))
		json_object_foreach(root, k, c)
			print_json_value(o, c, 0, k, 0);
	else if (json_is_array(root))
		json_array_foreach(root, i, c)
			print_json_value(o, c, 1, NULL, 1);
	else
		print_json_value(o, root, 0, "value", 0);
	json_decref(root);
	fflush(o->fp);
}
