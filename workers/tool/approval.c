/*
 * Command approval: Hermes's unconditional block list (hardline), its
 * dangerous-command patterns, and what this runner adds in manual mode:
 * shapes it cannot analyse fail closed (they are asked about).
 *
 * The pattern tables are written for glibc's POSIX regex (ERE with the
 * GNU \b \w \s operators, case-insensitive, '.' matching newlines), after
 * the facts of Hermes's tools/approval.py: same categories, same
 * descriptions (the descriptions are Hermes's pattern keys, which users
 * may have in command_allowlist).
 */
#include <ctype.h>
#include <fnmatch.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/util.h"
#include "workers/tool/tool.h"

#define WS	"[[:space:]]"
#define NWS	"[^[:space:]]"
/* A command position: start, after ; & | newline, backtick or $(, then
 * optional sudo/env/exec/nohup/setsid/time wrappers. */
#define CMDPOS	"(^|[;&|\n`]|\\$\\()" WS "*(sudo" WS "+(-" NWS "+" WS "+)*)?" \
		"(env" WS "+([[:alnum:]_]+=" NWS "*" WS "+)*)?" \
		"((exec|nohup|setsid|time)" WS "+)*" WS "*"
#define RMPFX	CMDPOS "rm" WS "+(-" NWS "*" WS "+)*"
#define RMPATH(alt) "([\"'](" alt ")[\"']|(" alt ")(" WS "|$|[)`;|&]))"
#define SYSDIRS	"/home|/home/\\*|/root|/root/\\*|/etc|/etc/\\*|/usr|/usr/\\*|" \
		"/var|/var/\\*|/bin|/bin/\\*|/sbin|/sbin/\\*|/boot|/boot/\\*|" \
		"/lib|/lib/\\*"
#define HOMEV	"(~|\\$home|\\$[{]home[}])"
#define SSH_P	HOMEV "/\\.ssh(/|$)"
#define HHOME	"(~/\\.hermes/|" HOMEV "/\\.hermes/|(\\$hermes_home|\\$[{]hermes_home[}])/)"
#define HENV_P	HHOME "\\.env\\b"
#define HCFG_P	HHOME "config\\.yaml\\b"
#define PENV_P	"((/|\\.{1,2}/)?([^[:space:]/\"'`]+/)*\\.env(\\.[^/[:space:]\"'`]+)*)"
#define PCFG_P	"((/|\\.{1,2}/)?([^[:space:]/\"'`]+/)*config\\.yaml)"
#define RC_P	HOMEV "/\\.(bashrc|zshrc|profile|bash_profile|zprofile)\\b"
#define CRED_P	HOMEV "/\\.(netrc|pgpass|npmrc|pypirc)\\b"
#define SYSCFG	"(/etc/|/private/(etc|var|tmp|home)/)"
#define SENS	"(" SYSCFG "|/dev/sd|" SSH_P "|" HENV_P "|" HCFG_P "|" RC_P "|" CRED_P ")"
#define USENS	"(" SSH_P "|" RC_P "|" CRED_P ")"
#define PSENS	"(" PENV_P "|" PCFG_P ")"
#define TAIL	"(" WS "*(&&|\\|\\||;).*)?$"
#define BOUND	"([[:space:];&|<>\"']|$)"
#define SHELLS	"(bash|sh|zsh|ksh|dash)"

struct rule {
	const char	*re;
	const char	*desc;
};

static const struct rule hardline[] = {
	{ RMPFX RMPATH("/((\\.\\.?)?/)*(\\.\\.?)?\\**|/ \\*"),
	  "recursive delete of root filesystem" },
	{ RMPFX RMPATH(SYSDIRS), "recursive delete of system directory" },
	{ RMPFX RMPATH("(~|\\$[{]?home[}]?)(/|/\\*)?"),
	  "recursive delete of home directory" },
	{ "\\bmkfs(\\.[a-z0-9]+)?\\b", "format filesystem (mkfs)" },
	{ "\\bdd\\b[^\n]*\\bof=/dev/(sd|nvme|hd|mmcblk|vd|xvd)[a-z0-9]*",
	  "dd to raw block device" },
	{ ">" WS "*/dev/(sd|nvme|hd|mmcblk|vd|xvd)[a-z0-9]*\\b",
	  "redirect to raw block device" },
	{ ":\\(\\)" WS "*[{]" WS "*:" WS "*\\|" WS "*:" WS "*&" WS "*[}]" WS
	  "*;" WS "*:", "fork bomb" },
	{ "\\bkill" WS "+(-" NWS "+" WS "+)*-1\\b", "kill all processes" },
	{ CMDPOS "(shutdown|reboot|halt|poweroff)\\b", "system shutdown/reboot" },
	{ CMDPOS "init" WS "+[06]\\b", "init 0/6 (shutdown/reboot)" },
	{ CMDPOS "systemctl" WS "+(poweroff|reboot|halt|kexec)\\b",
	  "systemctl poweroff/reboot" },
	{ CMDPOS "telinit" WS "+[06]\\b", "telinit 0/6 (shutdown/reboot)" },
};

static const struct rule sudo_stdin[] = {
	{ "(^|[;&|`\n]|\\$\\()" WS "*sudo" WS "+-s\\b",
	  "sudo password guessing via stdin (sudo -S)" },
};

static const struct rule dangerous[] = {
	{ "\\brm" WS "+(-" NWS "*" WS "+)*/", "delete in root path" },
	{ "\\brm" WS "+-" NWS "*r", "recursive delete" },
	{ "\\brm" WS "+--recursive\\b", "recursive delete (long flag)" },
	{ "\\bchmod" WS "+(-" NWS "*" WS "+)*(777|666|o\\+[rwx]*w|a\\+[rwx]*w)\\b",
	  "world/other-writable permissions" },
	{ "\\bchmod" WS "+--recursive\\b.*(777|666|o\\+[rwx]*w|a\\+[rwx]*w)",
	  "recursive world/other-writable (long flag)" },
	{ "\\bchown" WS "+(-" NWS "*)?r" WS "+root", "recursive chown to root" },
	{ "\\bchown" WS "+--recur[a-z]*\\b.*root",
	  "recursive chown to root (long flag)" },
	{ "\\bmkfs\\b", "format filesystem" },
	{ "\\bdd" WS "+.*if=", "disk copy" },
	{ ">" WS "*/dev/sd", "write to block device" },
	{ "\\bdrop" WS "+(table|database)\\b", "SQL DROP" },
	/* "SQL DELETE without WHERE" is checked in code (no lookahead). */
	{ "\\btruncate" WS "+(table)?" WS "*\\w", "SQL TRUNCATE" },
	{ ">" WS "*" SYSCFG, "overwrite system config" },
	{ "\\bsystemctl" WS "+(-" NWS "+" WS "+)*(stop|restart|disable|mask)\\b",
	  "stop/restart system service" },
	{ "\\bkill" WS "+-9" WS "+-1\\b", "kill all processes" },
	{ "\\bpkill" WS "+-9\\b", "force kill processes" },
	{ "\\bkillall" WS "+(-" NWS "*" WS "+)*-(9|kill|sigkill)\\b",
	  "force kill processes (killall -KILL)" },
	{ "\\bkillall" WS "+(-" NWS "*" WS "+)*-s" WS "+(kill|sigkill|9)\\b",
	  "force kill processes (killall -s KILL)" },
	{ "\\bkillall" WS "+(-" NWS "*" WS "+)*-r\\b",
	  "kill processes by regex (killall -r)" },
	{ ":\\(\\)" WS "*[{]" WS "*:" WS "*\\|" WS "*:" WS "*&" WS "*[}]" WS
	  "*;" WS "*:", "fork bomb" },
	{ "\\b(bash|sh|zsh|ksh)" WS "+-" NWS "*c(" WS "+|$)",
	  "shell command via -c/-lc flag" },
	{ "\\b(python[23]?|perl|ruby|node)" WS "+-[ec]" WS "+",
	  "script execution via -e/-c flag" },
	{ "\\b(curl|wget)\\b.*\\|" WS "*([/[:alnum:]_]*/)?(ba)?sh(" WS "|$|-c)",
	  "pipe remote content to shell" },
	{ "\\b(bash|sh|zsh|ksh)" WS "+<" WS "*<?" WS "*\\(" WS "*(curl|wget)\\b",
	  "execute remote script via process substitution" },
	{ "(\\beval\\b|\\bsource\\b|\\.)" WS "*(\\$\\(" WS "*|`" WS "*)(curl|wget)\\b",
	  "execute remote content via command substitution" },
	{ "\\b(base64|base32|base16)" WS "+(-d|--decode)\\b.*\\|" WS "*\\b" SHELLS "\\b",
	  "pipe decoded content to shell (possible command obfuscation)" },
	{ "\\bxxd" WS "+-r\\b.*\\|" WS "*\\b" SHELLS "\\b",
	  "pipe xxd-decoded content to shell (possible command obfuscation)" },
	{ "\\becho\\b[^|]*\\|" WS "*\\btr\\b[^|]*\\|" WS "*\\b" SHELLS "\\b",
	  "pipe tr-transformed output to shell (possible command obfuscation)" },
	{ "\\bopenssl\\b.*\\b(base64|enc)\\b[^|]*" WS "+-d\\b[^|]*\\|" WS "*\\b"
	  SHELLS "\\b",
	  "pipe openssl-decoded content to shell (possible command obfuscation)" },
	{ "\\btee\\b.*[\"']?" SENS, "overwrite system file via tee" },
	{ ">>?" WS "*[\"']?" SENS, "overwrite system file via redirection" },
	{ "\\btee\\b.*[\"']?" PSENS "[\"']?" BOUND,
	  "overwrite project env/config via tee" },
	{ ">>?" WS "*[\"']?" PSENS "[\"']?" BOUND,
	  "overwrite project env/config via redirection" },
	{ "\\bxargs" WS "+.*\\brm\\b", "xargs with rm" },
	{ "\\bfind\\b.*-exec(dir)?" WS "+(/" NWS "*/)?rm\\b",
	  "find -exec/-execdir rm" },
	{ "\\bfind\\b.*-delete\\b", "find -delete" },
	{ "\\bhermes" WS "+(--?" NWS "+(" WS "+" NWS "+)?" WS "+)*gateway" WS
	  "+(stop|restart)\\b",
	  "stop/restart hermes gateway (kills running agents)" },
	{ "\\bhermes" WS "+update\\b",
	  "hermes update (restarts gateway, kills running agents)" },
	{ "\\bdocker" WS "+compose" WS "+(restart|stop|kill|down)\\b",
	  "docker compose restart/stop/kill/down (container lifecycle)" },
	{ "\\bdocker" WS "+(restart|stop|kill)\\b",
	  "docker restart/stop/kill (container lifecycle)" },
	{ "gateway" WS "+run\\b.*(&" WS "*$|&" WS "*;|\\bdisown\\b|\\bsetsid\\b)",
	  "start gateway outside systemd (use 'systemctl --user restart hermes-gateway')" },
	{ "\\bnohup\\b.*gateway" WS "+run\\b",
	  "start gateway outside systemd (use 'systemctl --user restart hermes-gateway')" },
	{ "\\b(pkill|killall)\\b.*\\b(hermes|gateway|cli\\.py)\\b",
	  "kill hermes/gateway process (self-termination)" },
	{ "\\bkill\\b.*\\$\\(" WS "*(pgrep|pidof)\\b",
	  "kill process via pgrep/pidof expansion (self-termination)" },
	{ "\\bkill\\b.*`" WS "*(pgrep|pidof)\\b",
	  "kill process via backtick pgrep/pidof expansion (self-termination)" },
	{ "\\blaunchctl" WS "+(stop|kickstart|bootout|unload|kill|disable|remove)"
	  "\\b.*\\b(hermes|ai\\.hermes)\\b",
	  "stop/restart hermes launchd service (kills running agents)" },
	{ "\\b(cp|mv|install)\\b.*" WS SYSCFG,
	  "copy/move file into system config path" },
	{ "\\b(cp|mv|install)\\b.*" WS "[\"']?" PSENS "[\"']?" TAIL,
	  "overwrite project env/config file" },
	{ "\\b(cp|mv|install)\\b.*" WS "[\"']?" SENS "[^[:space:]\"']*[\"']?" TAIL,
	  "copy/move file into sensitive credential/SSH/shell-rc path" },
	{ "\\bsed" WS "+-" NWS "*i.*" USENS,
	  "in-place edit of sensitive credential/SSH/shell-rc path" },
	{ "\\bsed" WS "+--in-place\\b.*" USENS,
	  "in-place edit of sensitive credential/SSH/shell-rc path (long flag)" },
	{ "\\b(perl|ruby)\\b.*(^|" WS ")-" NWS "*i\\b.*" USENS,
	  "in-place edit of sensitive credential/SSH/shell-rc path (perl/ruby)" },
	{ "\\bsed" WS "+-" NWS "*i.*" WS SYSCFG, "in-place edit of system config" },
	{ "\\bsed" WS "+--in-place\\b.*" WS SYSCFG,
	  "in-place edit of system config (long flag)" },
	{ "\\bsed" WS "+-" NWS "*i.*(" HCFG_P "|" HENV_P ")",
	  "in-place edit of Hermes config/env" },
	{ "\\bsed" WS "+--in-place\\b.*(" HCFG_P "|" HENV_P ")",
	  "in-place edit of Hermes config/env (long flag)" },
	{ "\\b(perl|ruby)\\b.*(^|" WS ")-" NWS "*i\\b.*(" HCFG_P "|" HENV_P ")",
	  "in-place edit of Hermes config/env (perl/ruby)" },
	{ "\\b(python[23]?|perl|ruby|node)" WS "+<<", "script execution via heredoc" },
	{ "\\b(bash|sh|zsh|ksh)" WS "+<<", "shell execution via heredoc" },
	{ "\\bgit" WS "+reset" WS "+--h(a(r(d)?)?)?\\b",
	  "git reset --hard (destroys uncommitted changes)" },
	{ "\\bgit" WS "+push\\b.*--forc[a-z]*\\b",
	  "git force push (rewrites remote history)" },
	{ "\\bgit" WS "+push\\b.*-f\\b",
	  "git force push short flag (rewrites remote history)" },
	{ "\\bgit" WS "+clean" WS "+-" NWS "*f",
	  "git clean with force (deletes untracked files)" },
	{ "\\bgit" WS "+branch" WS "+-d\\b", "git branch force delete" },
	{ "\\bgit" WS "+branch\\b[^;|&\n]*(-d\\b|--delete\\b)[^;|&\n]*(-f\\b|--force\\b)",
	  "git branch force delete (long flags)" },
	{ "\\bgit" WS "+branch\\b[^;|&\n]*(-f\\b|--force\\b)[^;|&\n]*(-d\\b|--delete\\b)",
	  "git branch force delete (long flags, force-first)" },
	{ "\\bchmod" WS "+\\+x\\b.*[;&|]+" WS "*\\./",
	  "chmod +x followed by immediate execution" },
	{ "\\bsudo\\b[^;|&\n]*" WS "+(-s\\b|--st[a-z]*\\b|-a\\b|--a[a-z]*\\b)",
	  "sudo with privilege flag (stdin/askpass/shell/list)" },
	{ "\\bsudo\\b[^;|&\n]*" WS "+-[a-z]*[sa][a-z]*\\b",
	  "sudo with combined-flag privilege escalation" },
};

static regex_t	 hardline_rx[nitems(hardline)];
static regex_t	 sudo_rx[nitems(sudo_stdin)];
static regex_t	 dangerous_rx[nitems(dangerous)];
static int	 compiled;

static int
compile_rules(const struct rule *r, regex_t *rx, size_t n)
{
	char	 err[256];
	size_t	 i;
	int	 rc;

	for (i = 0; i < n; i++) {
		rc = regcomp(&rx[i], r[i].re, REG_EXTENDED | REG_ICASE |
		    REG_NOSUB);
		if (rc != 0) {
			regerror(rc, &rx[i], err, sizeof(err));
			log_warnx("approval: pattern \"%s\": %s", r[i].desc, err);
			while (i > 0)
				regfree(&rx[--i]);
			return -1;
		}
	}
	return 0;
}

static void
free_rules(regex_t *rx, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		regfree(&rx[i]);
}

int
tool_approval_init(void)
{
	if (compiled)
		return 0;
	if (compile_rules(hardline, hardline_rx, nitems(hardline)) == -1)
		return -1;
	if (compile_rules(sudo_stdin, sudo_rx, nitems(sudo_stdin)) == -1) {
		free_rules(hardline_rx, nitems(hardline));
		return -1;
	}
	if (compile_rules(dangerous, dangerous_rx, nitems(dangerous)) == -1) {
		free_rules(hardline_rx, nitems(hardline));
		free_rules(sudo_rx, nitems(sudo_stdin));
		return -1;
	}
	compiled = 1;
	return 0;
}

void
tool_approval_fini(void)
{
	if (!compiled)
		return;
	free_rules(hardline_rx, nitems(hardline));
	free_rules(sudo_rx, nitems(sudo_stdin));
	free_rules(dangerous_rx, nitems(dangerous));
	compiled = 0;
}

/* ---- normalisation ------------------------------------------------------ */

static void
fold_prefix(struct tool_sb *out, const char *s, const char *path,
    const char *repl)
{
	size_t	 pl, i = 0, n = strlen(s);

	/* Only fold real homes (two components or more), as Hermes does. */
	if (path == NULL || path[0] != '/' || strchr(path + 1, '/') == NULL) {
		tool_sb_adds(out, s);
		return;
	}
	pl = strlen(path);
	while (pl > 1 && path[pl - 1] == '/')
		pl--;
	while (i < n) {
		if (strncmp(s + i, path, pl) == 0 && s[i + pl] == '/') {
			tool_sb_adds(out, repl);
			i += pl;
			continue;
		}
		tool_sb_addc(out, s[i++]);
	}
}

static char	*norm_home, *norm_hermes_home;

char *
tool_normalize_command(const char *in)
{
	struct tool_sb	 a = { 0 }, b = { 0 };
	char		*s;
	size_t		 n, i;

	s = xstrdup(in);
	n = tool_strip_ansi(s, strlen(s));
	/* NULs cannot be in a C string; fold fullwidth ASCII (the part of
	 * NFKC that matters for command words) and U+3000. */
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0xef && i + 2 < n) {
			unsigned cp = ((c & 0x0f) << 12) |
			    (((unsigned char)s[i + 1] & 0x3f) << 6) |
			    ((unsigned char)s[i + 2] & 0x3f);
			if (cp >= 0xff01 && cp <= 0xff5e) {
				tool_sb_addc(&a, (char)(cp - 0xff01 + 0x21));
				i += 2;
				continue;
			}
		}
		if (c == 0xe3 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
		    (unsigned char)s[i + 2] == 0x80) {
			tool_sb_addc(&a, ' ');
			i += 2;
			continue;
		}
		/* line continuations */
		if (c == '\\' && i + 1 < n && s[i + 1] == '\n') {
			i++;
			continue;
		}
		if (c == '\\' && i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
			i += 2;
			continue;
		}
		tool_sb_addc(&a, (char)c);
	}
	free(s);
	s = tool_sb_take(&a);
	fold_prefix(&b, s, norm_hermes_home, "~/.hermes");
	free(s);
	s = tool_sb_take(&b);
	fold_prefix(&a, s, norm_home, "~");
	free(s);
	s = tool_sb_take(&a);
	n = strlen(s);
	for (i = 0; i < n; i++) {
		/* backslash escapes: r\m -> rm */
		if (s[i] == '\\' && i + 1 < n && s[i + 1] != '\n') {
			tool_sb_addc(&b, s[++i]);
			continue;
		}
		/* empty quotes: r''m -> rm */
		if ((s[i] == '\'' || s[i] == '"') && i + 1 < n && s[i + 1] == s[i]) {
			i++;
			continue;
		}
		/* $IFS, ${IFS...} -> space */
		if (strncmp(s + i, "${IFS", 5) == 0 &&
		    !isalnum((unsigned char)s[i + 5]) && s[i + 5] != '_') {
			char *e = strchr(s + i, '}');
			if (e != NULL) {
				tool_sb_addc(&b, ' ');
				i = (size_t)(e - s);
				continue;
			}
		}
		if (strncmp(s + i, "$IFS", 4) == 0 &&
		    !isalnum((unsigned char)s[i + 4]) && s[i + 4] != '_') {
			tool_sb_addc(&b, ' ');
			i += 3;
			continue;
		}
		tool_sb_addc(&b, s[i]);
	}
	free(s);
	return tool_sb_take(&b);
}

/* ---- shell structure (quote-aware, never executed) ---------------------- */

/* Offsets where a command starts: 0, after ; & && | || newline ( { $( and
 * backtick, outside quotes. Returns the count (up to max). */
static size_t
command_starts(const char *s, size_t *out, size_t max)
{
	size_t	 n = strlen(s), i = 0, k = 0;
	char	 q = 0;

	if (max > 0)
		out[k++] = 0;
	while (i < n) {
		char c = s[i];
		if (q == '\'') {
			if (c == '\'')
				q = 0;
			i++;
			continue;
		}
		if (q == '"') {
			if (c == '\\' && i + 1 < n) {
				i += 2;
				continue;
			}
			if (c == '"') {
				q = 0;
				i++;
				continue;
			}
			if (c == '$' && s[i + 1] == '(') {
				if (k < max)
					out[k++] = i + 2;
				i += 2;
				continue;
			}
			if (c == '`' && k < max)
				out[k++] = i + 1;
			i++;
			continue;
		}
		if (c == '\'' || c == '"') {
			q = c;
			i++;
			continue;
		}
		if (c == '\\' && i + 1 < n) {
			i += 2;
			continue;
		}
		if (c == '$' && s[i + 1] == '(') {
			if (k < max)
				out[k++] = i + 2;
			i += 2;
			continue;
		}
		if (c == '(' || c == '{' || c == ';' || c == '\n' || c == '`' ||
		    c == '&' || c == '|') {
			if ((c == '&' || c == '|') && s[i + 1] == c)
				i++;
			if (k < max)
				out[k++] = i + 1;
		}
		i++;
	}
	return k;
}

/* The text with a newline spliced in before every command start, so the
 * CMDPOS-anchored patterns see subshells and brace groups. */
static char *
mark_starts(const char *s)
{
	struct tool_sb	 sb = { 0 };
	size_t		*st, ns, i, j = 1, n = strlen(s);

	st = xcalloc(n + 2, sizeof(*st));
	ns = command_starts(s, st, n + 2);
	for (i = 0; i < n; i++) {
		while (j < ns && st[j] < i)
			j++;
		if (j < ns && st[j] == i && i > 0)
			tool_sb_addc(&sb, '\n');
		tool_sb_addc(&sb, s[i]);
	}
	free(st);
	return tool_sb_take(&sb);
}

/* Strip quotes from the first word(s) at each command start, so r"m" and
 * 'rm' read as rm. Also $(echo X) / `printf X` with a plain literal X. */
static int
simple_literal(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    strchr("_./:@%+=,-", s[i]) == NULL)
			return 0;
	return 1;
}

static int
literal_subst(const char *body, size_t n, struct tool_sb *out)
{
	char	*b = xstrndup(body, n), *p, *w1, *w2, *w3;
	int	 ok = 0;

	p = b;
	w1 = strtok(p, " \t");
	w2 = w1 ? strtok(NULL, " \t") : NULL;
	w3 = w2 ? strtok(NULL, " \t") : NULL;
	if (w1 && w2 && strcmp(w1, "echo") == 0 && w3 == NULL) {
		if (simple_literal(w2, strlen(w2))) {
			tool_sb_adds(out, w2);
			ok = 1;
		}
	} else if (w1 && w2 && strcmp(w1, "printf") == 0) {
		if (w3 == NULL && simple_literal(w2, strlen(w2))) {
			tool_sb_adds(out, w2);
			ok = 1;
		} else if (w3 && strcmp(w2, "%s") == 0 && strtok(NULL, " \t") ==
		    NULL && simple_literal(w3, strlen(w3))) {
			tool_sb_adds(out, w3);
			ok = 1;
		}
	}
	free(b);
	return ok;
}

static char *
deobfuscate_words(const char *s)
{
	struct tool_sb	 sb = { 0 };
	size_t		*st, ns, i, j, n = strlen(s), pos, words;

	st = xcalloc(n + 2, sizeof(*st));
	ns = command_starts(s, st, n + 2);
	pos = 0;
	for (j = 0; j < ns; j++) {
		if (st[j] < pos)
			continue;
		tool_sb_add(&sb, s + pos, st[j] - pos);
		i = st[j];
		/* up to 4 words at command position (wrappers, VAR=x) */
		for (words = 0; words < 4 && i < n; words++) {
			char q = 0;
			while (i < n && (s[i] == ' ' || s[i] == '\t'))
				tool_sb_addc(&sb, s[i++]);
			while (i < n) {
				char c = s[i];
				if (q) {
					if (c == q) {
						q = 0;
						i++;
						continue;
					}
					tool_sb_addc(&sb, c);
					i++;
					continue;
				}
				if (c == '\'' || c == '"') {
					q = c;
					i++;
					continue;
				}
				if (c == '$' && s[i + 1] == '(') {
					const char *e = strchr(s + i + 2, ')');
					if (e && literal_subst(s + i + 2,
					    (size_t)(e - s - i - 2), &sb)) {
						i = (size_t)(e - s) + 1;
						continue;
					}
				}
				if (c == '`') {
					const char *e = strchr(s + i + 1, '`');
					if (e && literal_subst(s + i + 1,
					    (size_t)(e - s - i - 1), &sb)) {
						i = (size_t)(e - s) + 1;
						continue;
					}
				}
				if (isspace((unsigned char)c) || c == ';' ||
				    c == '&' || c == '|' || c == '(' || c == ')')
					break;
				tool_sb_addc(&sb, c);
				i++;
			}
			if (q)
				break;
			if (i >= n || s[i] == ';' || s[i] == '&' || s[i] == '|' ||
			    s[i] == '\n' || s[i] == '(' || s[i] == ')')
				break;
		}
		pos = i;
	}
	if (pos < n)
		tool_sb_adds(&sb, s + pos);
	free(st);
	return tool_sb_take(&sb);
}

/* The variants every pattern is matched against. */
static size_t
variants(const char *command, char **v)
{
	size_t	 k = 0;

	v[k++] = tool_normalize_command(command);
	v[k++] = mark_starts(v[0]);
	v[k++] = deobfuscate_words(v[0]);
	v[k++] = mark_starts(v[2]);
	return k;
}

static void
free_variants(char **v, size_t k)
{
	while (k > 0)
		free(v[--k]);
}

static int
match_rules(const struct rule *r, regex_t *rx, size_t nr, const char *command,
    const char **desc)
{
	char	*v[4];
	size_t	 nv, i, j;
	int	 hit = 0;

	if (!compiled && tool_approval_init() == -1)
		fatalx("approval: pattern tables do not compile");
	nv = variants(command, v);
	for (i = 0; i < nv && !hit; i++)
		for (j = 0; j < nr; j++)
			if (regexec(&rx[j], v[i], 0, NULL, 0) == 0) {
				*desc = r[j].desc;
				hit = 1;
				break;
			}
	free_variants(v, nv);
	return hit;
}

int
tool_hardline(const char *command, const char **desc)
{
	return match_rules(hardline, hardline_rx, nitems(hardline), command, desc);
}

/* "DELETE FROM" on a line with no WHERE after it. */
static int
delete_without_where(const char *s)
{
	const char	*p = s, *e, *w;
	char		*line;

	while ((p = strcasestr(p, "delete")) != NULL) {
		const char *q = p + 6;
		if ((p > s && (isalnum((unsigned char)p[-1]) || p[-1] == '_')) ||
		    !isspace((unsigned char)*q)) {
			p++;
			continue;
		}
		while (isspace((unsigned char)*q))
			q++;
		if (strncasecmp(q, "from", 4) != 0 ||
		    isalnum((unsigned char)q[4]) || q[4] == '_') {
			p++;
			continue;
		}
		e = strchr(q, '\n');
		line = e ? xstrndup(q, (size_t)(e - q)) : xstrdup(q);
		w = line;
		int found = 0;
		while ((w = strcasestr(w, "where")) != NULL) {
			if ((w == line || !(isalnum((unsigned char)w[-1]) ||
			    w[-1] == '_')) && !(isalnum((unsigned char)w[5]) ||
			    w[5] == '_')) {
				found = 1;
				break;
			}
			w++;
		}
		free(line);
		if (!found)
			return 1;
		p++;
	}
	return 0;
}

int
tool_dangerous(const char *command, const char **desc)
{
	char	*norm;
	int	 hit;

	if (match_rules(dangerous, dangerous_rx, nitems(dangerous), command, desc))
		return 1;
	norm = tool_normalize_command(command);
	hit = delete_without_where(norm);
	free(norm);
	if (hit)
		*desc = "SQL DELETE without WHERE";
	return hit;
}

/*
 * What a regex over the text cannot see through. Outside single quotes:
 * $( and backticks (command substitution), <( >( (process substitution),
 * << (heredocs and here-strings), $' (ANSI-C quoting), a $ in a command
 * word (the program is a variable), eval, nested shells with -c (also
 * inside find -exec/xargs), env -S/--split-string, and more than
 * TOOL_MAX_CHAINED chained commands.
 */
int
tool_unanalysable(const char *command, const char **desc)
{
	static const char *const shells[] = { "sh", "bash", "dash", "zsh",
	    "ksh", "mksh", "busybox", "ash", "fish", "csh", "tcsh" };
	char	*s;
	size_t	 n, i, chain = 0, *st, ns, j;
	char	 q = 0;
	int	 hit = 0;

	s = tool_normalize_command(command);
	n = strlen(s);
	for (i = 0; i < n && !hit; i++) {
		char c = s[i];
		if (q == '\'') {
			if (c == '\'')
				q = 0;
			continue;
		}
		if (c == '\\' && i + 1 < n) {
			i++;
			continue;
		}
		if (q == '"') {
			if (c == '"') {
				q = 0;
				continue;
			}
		} else if (c == '\'' || c == '"') {
			if (c == '\'' && i > 0 && s[i - 1] == '$') {
				*desc = "ANSI-C quoting ($'...') cannot be analysed";
				hit = 1;
			}
			q = c;
			continue;
		}
		if (c == '$' && s[i + 1] == '(') {
			*desc = "command substitution $(...) cannot be analysed";
			hit = 1;
		} else if (c == '`') {
			*desc = "command substitution `...` cannot be analysed";
			hit = 1;
		} else if (q == 0 && (c == '<' || c == '>') && s[i + 1] == '(') {
			*desc = "process substitution cannot be analysed";
			hit = 1;
		} else if (q == 0 && c == '<' && s[i + 1] == '<') {
			*desc = "heredoc or here-string cannot be analysed";
			hit = 1;
		} else if (q == 0 && (c == ';' || c == '\n' ||
		    c == '|' || c == '&')) {
			if ((c == '|' || c == '&') && s[i + 1] == c)
				i++;
			if (++chain > TOOL_MAX_CHAINED) {
				*desc = "more than 50 chained commands";
				hit = 1;
			}
		}
	}
	if (!hit && q != 0) {
		*desc = "unbalanced quotes";
		hit = 1;
	}
	if (hit) {
		free(s);
		return 1;
	}
	/* Words anywhere: a shell with -c, env -S, eval. */
	{
		static const char *const interps[] = { "sh", "bash", "dash",
		    "zsh", "ksh", "ash", "mksh", "busybox", "fish", "csh",
		    "tcsh", "python", "python2", "python3", "perl", "ruby",
		    "node", "php", "lua", "tclsh" };
		char *w = deobfuscate_words(s), *save = NULL, *tok, *prev = NULL;
		char *copy = xstrdup(w), prev_sep = 0;
		for (tok = strtok_r(copy, " \t\n;&|()", &save); tok && !hit;
		    tok = strtok_r(NULL, " \t\n;&|()", &save)) {
			/* the separator just before this word, in w */
			{
				size_t off = (size_t)(tok - copy);
				prev_sep = 0;
				while (off > 0) {
					char sc = w[off - 1];
					if (sc == ' ' || sc == '\t') {
						off--;
						continue;
					}
					if (sc == '|')
						prev_sep = '|';
					break;
				}
			}
			const char *base = strrchr(tok, '/');
			base = base ? base + 1 : tok;
			if (prev != NULL) {
				const char *pb = strrchr(prev, '/');
				pb = pb ? pb + 1 : prev;
				for (j = 0; j < nitems(shells); j++)
					if (strcmp(pb, shells[j]) == 0 &&
					    tok[0] == '-' && tok[1] != '-' &&
					    strchr(tok, 'c') != NULL) {
						*desc = "nested shell with -c cannot be analysed";
						hit = 1;
					}
				if (strcmp(pb, "env") == 0 && (strncmp(tok, "-S", 2) == 0 ||
				    strncmp(tok, "--split-string", 14) == 0 ||
				    (tok[0] == '-' && tok[1] != '-' &&
				    strchr(tok, 'S') != NULL))) {
					*desc = "env -S cannot be analysed";
					hit = 1;
				}
			}
			/* piped into an interpreter: the program is data */
			if (!hit && prev_sep == '|') {
				for (j = 0; j < nitems(interps); j++)
					if (strcmp(base, interps[j]) == 0) {
						*desc = "input piped into an "
						    "interpreter cannot be analysed";
						hit = 1;
					}
			}
			if (!hit && strcmp(base, "eval") == 0) {
				*desc = "eval cannot be analysed";
				hit = 1;
			}
			prev = tok;
		}
		free(copy);
		/* A variable as the program: $X args. */
		if (!hit) {
			st = xcalloc(strlen(w) + 2, sizeof(*st));
			ns = command_starts(w, st, strlen(w) + 2);
			for (j = 0; j < ns && !hit; j++) {
				const char *p = w + st[j];
				while (*p == ' ' || *p == '\t')
					p++;
				/* skip VAR=value assignments */
				while (isalpha((unsigned char)*p) || *p == '_') {
					const char *e = p;
					while (isalnum((unsigned char)*e) || *e == '_')
						e++;
					if (*e != '=')
						break;
					e += strcspn(e, " \t");
					while (*e == ' ' || *e == '\t')
						e++;
					p = e;
				}
				if (*p == '$') {
					*desc = "the program is a variable expansion";
					hit = 1;
				}
			}
			free(st);
		}
		free(w);
	}
	free(s);
	return hit;
}

/* ---- allowlist and the decision ------------------------------------------- */

static int
has_shell_operator(const char *s)
{
	return strpbrk(s, "\n;&|<>`") != NULL || strstr(s, "$(") != NULL;
}

int
tool_allowlisted(const struct tool_policy *p, const char *command,
    const char *pattern_key)
{
	size_t	 i;

	for (i = 0; i < p->nallow; i++) {
		const char *a = p->allowlist[i];
		if (a == NULL || *a == '\0')
			continue;
		if (strcmp(a, command) == 0)
			return 1;
		if (pattern_key != NULL && strcmp(a, pattern_key) == 0)
			return 1;
		if (strpbrk(a, "*?[") != NULL && !has_shell_operator(command) &&
		    fnmatch(a, command, 0) == 0)
			return 1;
	}
	return 0;
}

static int
user_denied(const struct tool_policy *p, const char *command, const char **g)
{
	char	*v[4], *low;
	size_t	 nv, i, j, k;

	if (p->ndeny == 0)
		return 0;
	nv = variants(command, v);
	for (i = 0; i < nv; i++) {
		low = tool_strip(xstrdup(v[i]));
		for (k = 0; low[k]; k++)
			low[k] = (char)tolower((unsigned char)low[k]);
		for (j = 0; j < p->ndeny; j++) {
			if (p->deny[j] == NULL || *p->deny[j] == '\0')
				continue;
			char *gl = xstrdup(p->deny[j]);
			for (k = 0; gl[k]; k++)
				gl[k] = (char)tolower((unsigned char)gl[k]);
			int m = fnmatch(gl, low, 0) == 0;
			free(gl);
			if (m) {
				*g = p->deny[j];
				free(low);
				free_variants(v, nv);
				return 1;
			}
		}
		free(low);
	}
	free_variants(v, nv);
	return 0;
}

void
tool_check_command(const struct tool_policy *p, const char *command,
    char *const *session_ok, size_t nsession_ok, struct tool_verdict_info *vi)
{
	const char	*desc = NULL, *udesc = NULL;
	size_t		 i;
	int		 dang, unan;

	memset(vi, 0, sizeof(*vi));
	free(norm_home);
	free(norm_hermes_home);
	norm_home = p->home ? xstrdup(p->home) : NULL;
	norm_hermes_home = p->hermes_home ? xstrdup(p->hermes_home) : NULL;

	if (tool_hardline(command, &desc)) {
		vi->verdict = TOOL_V_BLOCK;
		vi->hardline = 1;
		strlcpy(vi->reason, desc, sizeof(vi->reason));
		strlcpy(vi->key, desc, sizeof(vi->key));
		return;
	}
	if (!p->sudo_password &&
	    match_rules(sudo_stdin, sudo_rx, nitems(sudo_stdin), command, &desc)) {
		vi->verdict = TOOL_V_BLOCK;
		strlcpy(vi->reason, desc, sizeof(vi->reason));
		strlcpy(vi->key, "sudo -S", sizeof(vi->key));
		return;
	}
	if (user_denied(p, command, &desc)) {
		vi->verdict = TOOL_V_BLOCK;
		snprintf(vi->reason, sizeof(vi->reason), "matches the user-defined "
		    "deny rule '%s'", desc);
		strlcpy(vi->key, "deny", sizeof(vi->key));
		return;
	}
	if (p->mode == TOOL_APPROVE_OFF) {
		vi->verdict = TOOL_V_ALLOW;
		return;
	}
	desc = NULL;
	dang = tool_dangerous(command, &desc);
	unan = tool_unanalysable(command, &udesc);
	if (!dang && !unan) {
		vi->verdict = TOOL_V_ALLOW;
		return;
	}
	/* What the user approved before, byte for byte. */
	for (i = 0; i < nsession_ok; i++)
		if (strcmp(session_ok[i], command) == 0) {
			vi->verdict = TOOL_V_ALLOW;
			return;
		}
	/* The allowlist: exact commands and globs always; Hermes's pattern
	 * keys only when the whole command could be analysed. */
	if (tool_allowlisted(p, command, unan ? NULL : desc)) {
		vi->verdict = TOOL_V_ALLOW;
		return;
	}
	vi->verdict = TOOL_V_ASK;
	vi->unanalysable = unan;
	if (dang && unan)
		snprintf(vi->reason, sizeof(vi->reason), "%s; %s", desc, udesc);
	else
		strlcpy(vi->reason, dang ? desc : udesc, sizeof(vi->reason));
	strlcpy(vi->key, dang ? desc : udesc, sizeof(vi->key));
}
