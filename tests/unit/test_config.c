/*
 * config.yaml: defaults, a Hermes-style file, YAML 1.1 typing, every
 * known key with a wrong type (exact FILE:LINE:COL), malformed YAML,
 * size/depth/alias bombs, tenants, secrecy of files holding secrets.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ipc/util.h"
#include "supervisor/config.h"

static char tmpdir[64];

static const char *
fixture(const char *name)
{
	static char path[PATH_MAX];
	const char *dir = getenv("HERMES_CONFIG_FIXTURES");

	(void)snprintf(path, sizeof(path), "%s/%s",
	    dir ? dir : "tests/fixtures/config", name);
	return path;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd;

	(void)unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static int
setup_dir(void **state)
{
	(void)state;
	(void)snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_config.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_dir(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct hermes_config *
parse_ok(const char *text)
{
	struct hermes_config *cfg = NULL;
	char err[CFG_MAX_ERR] = "";

	if (config_parse("t.yaml", text, strlen(text), &cfg, err,
	    sizeof(err)) != 0)
		fail_msg("unexpected error: %s\n--\n%s", err, text);
	assert_non_null(cfg);
	return cfg;
}

static void
parse_fails(const char *text, const char *want)
{
	struct hermes_config *cfg = (void *)1;
	char err[CFG_MAX_ERR] = "";

	if (config_parse("t.yaml", text, strlen(text), &cfg, err,
	    sizeof(err)) != -1)
		fail_msg("accepted, want \"%s\"\n--\n%s", want, text);
	assert_null(cfg);
	if (strstr(err, want) == NULL)
		fail_msg("want \"%s\"\n got \"%s\"\n--\n%s", want, err, text);
}

static void
test_defaults(void **state)
{
	struct hermes_config *cfg = NULL;
	char err[CFG_MAX_ERR];

	(void)state;
	assert_int_equal(config_load(tmpdir, &cfg, err, sizeof(err)), 0);
	assert_non_null(cfg);
	assert_int_equal(cfg->present, 0);
	assert_true(json_is_object(cfg->root));
	assert_int_equal(json_object_size(cfg->root), 0);
	assert_null(cfg->model);
	assert_string_equal(cfg->provider, "auto");
	assert_null(cfg->base_url);
	assert_null(cfg->api_key);
	assert_int_equal(cfg->backend, CFG_BACKEND_LOCAL);
	assert_int_equal(cfg->approvals, CFG_APPROVALS_SMART);
	assert_int_equal(cfg->terminal_timeout, TOOL_DEFAULT_TIMEOUT_S);
	assert_int_equal(cfg->approvals_timeout, 60);
	assert_int_equal(cfg->max_turns, 90);
	assert_int_equal(cfg->sandbox_require, 0);
	assert_int_equal(cfg->sandbox_network, 0);
	assert_int_equal(cfg->max_clients_per_uid, SUP_MAX_CONN_PER_UID);
	assert_int_equal(cfg->ntenants, 0);
	assert_non_null(strstr(cfg->path, "/config.yaml"));
	config_free(cfg);

	/* Empty and comment-only files are the defaults too. */
	cfg = parse_ok("");
	assert_int_equal(json_object_size(cfg->root), 0);
	config_free(cfg);
	cfg = parse_ok("# nothing yet\n---\n");
	assert_int_equal(json_object_size(cfg->root), 0);
	config_free(cfg);
	config_free(NULL);
}

static void
test_hermes_full(void **state)
{
	struct hermes_config *cfg = NULL;
	char err[CFG_MAX_ERR] = "";
	const char *order[] = { "model", "fallback_providers",
		"provider_routing", "terminal", "approvals" };
	const char *k;
	json_t *v;
	size_t i = 0;
	unsigned line, col;
	char *pub;

	(void)state;
	if (config_load_file(fixture("hermes_full.yaml"), &cfg, err,
	    sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(cfg->present, 1);
	assert_string_equal(cfg->model, "anthropic/claude-sonnet-4.5");
	assert_string_equal(cfg->provider, "openrouter");
	assert_string_equal(cfg->base_url, "https://openrouter.ai/api/v1");
	assert_int_equal(cfg->backend, CFG_BACKEND_SSH);
	assert_string_equal(cfg->terminal_cwd, "/srv/work");
	assert_int_equal(cfg->terminal_timeout, 120);
	assert_int_equal(cfg->approvals, CFG_APPROVALS_OFF);
	assert_int_equal(cfg->approvals_timeout, 45);
	assert_int_equal(cfg->max_turns, 60);
	assert_int_equal(cfg->sandbox_require, 1);
	assert_int_equal(cfg->sandbox_network, 0);
	assert_int_equal(cfg->max_clients_per_uid, 8);
	assert_int_equal(cfg->command_memory_mb, 2048);
	assert_int_equal(cfg->command_max_procs, 128);
	assert_int_equal(cfg->has_secrets, 0);

	/* Keys in file order. */
	json_object_foreach(cfg->root, k, v) {
		if (i < nitems(order))
			assert_string_equal(k, order[i]);
		i++;
	}
	assert_int_equal(i, 15);
	/* Unknown keys are kept. */
	assert_string_equal(json_string_value(config_get(cfg,
	    "provider_routing.sort")), "throughput");
	assert_string_equal(json_string_value(config_get(cfg,
	    "platform_toolsets.telegram.0")), "hermes-telegram");
	assert_string_equal(json_string_value(config_get(cfg,
	    "some_future_section.nested.deep.2.x")), "y");
	assert_true(json_is_true(config_get(cfg,
	    "compression.codex_gpt55_autoraise")));
	/* Typed as YAML 1.1 does. */
	assert_true(json_is_false(config_get(cfg, "agent.verbose")));
	assert_true(json_is_true(config_get(cfg, "memory.memory_enabled")));
	assert_true(json_is_real(config_get(cfg, "compression.threshold")));
	assert_true(json_is_real(config_get(cfg, "terminal.container_cpu")));
	assert_int_equal(json_integer_value(config_get(cfg,
	    "terminal.ssh_port")), 2222);
	assert_string_equal(json_string_value(config_get(cfg,
	    "fallback_providers.1.base_url")), "http://127.0.0.1:11434/v1");
	assert_null(config_get(cfg, "fallback_providers.2"));
	assert_null(config_get(cfg, "model.nope"));
	assert_null(config_get(cfg, "model.default.x"));
	/* Positions. */
	assert_int_equal(config_where(cfg, "terminal.ssh_port", &line, &col),
	    0);
	assert_int_equal(line, 27);
	assert_int_equal(col, 13);
	assert_int_equal(config_where(cfg, "fallback_providers.1.model", &line,
	    &col), 0);
	assert_int_equal(line, 13);
	assert_int_equal(col, 12);
	assert_int_equal(config_where(cfg, "nope.x", &line, &col), -1);
	/* What workers get: "off" spelled out. */
	pub = config_public_json(cfg);
	assert_non_null(pub);
	assert_non_null(strstr(pub, "\"approvals\":{\"mode\":\"off\""));
	assert_non_null(strstr(pub,
	    "\"background_process_notifications\":\"off\""));
	assert_non_null(strstr(pub, "\"some_future_section\""));
	free(pub);
	config_free(cfg);
}

/* The documented example is a valid file, with the documented defaults. */
static void
test_example(void **state)
{
	struct hermes_config *cfg = NULL;
	char err[CFG_MAX_ERR] = "";
	const char *dir = getenv("HERMES_CONFIG_FIXTURES");
	char path[PATH_MAX];

	(void)state;
	(void)snprintf(path, sizeof(path), "%s%setc/config.yaml.example",
	    dir ? dir : "", dir ? "/../../../" : "");
	if (config_load_file(path, &cfg, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(cfg->present, 1);
	assert_int_equal(cfg->backend, CFG_BACKEND_LOCAL);
	assert_int_equal(cfg->approvals, CFG_APPROVALS_SMART);
	assert_int_equal(cfg->terminal_timeout, TOOL_DEFAULT_TIMEOUT_S);
	assert_int_equal(cfg->approvals_timeout, 60);
	assert_int_equal(cfg->max_turns, 90);
	assert_int_equal(cfg->max_clients_per_uid, SUP_MAX_CONN_PER_UID);
	assert_int_equal(cfg->sandbox_require, 0);
	assert_int_equal(cfg->sandbox_network, 0);
	assert_int_equal(cfg->has_secrets, 0);
	config_free(cfg);
}

static void
test_model_forms(void **state)
{
	struct hermes_config *cfg;

	(void)state;
	cfg = parse_ok("model: gpt-4o\n");
	assert_string_equal(cfg->model, "gpt-4o");
	assert_string_equal(cfg->provider, "auto");
	config_free(cfg);
	cfg = parse_ok("model:\n  model: llama3\n  provider: custom\n");
	assert_string_equal(cfg->model, "llama3");
	assert_string_equal(cfg->provider, "custom");
	config_free(cfg);
	cfg = parse_ok("model:\n");
	assert_null(cfg->model);
	config_free(cfg);
	cfg = parse_ok("approvals: {mode: Manual}\n");
	assert_int_equal(cfg->approvals, CFG_APPROVALS_MANUAL);
	config_free(cfg);
	cfg = parse_ok("approvals: {mode: on}\n");
	assert_int_equal(cfg->approvals, CFG_APPROVALS_MANUAL);
	config_free(cfg);
	cfg = parse_ok("approvals: {mode: 'off'}\nterminal: {backend: docker}\n");
	assert_int_equal(cfg->approvals, CFG_APPROVALS_OFF);
	assert_int_equal(cfg->backend, CFG_BACKEND_DOCKER);
	assert_string_equal(config_backend_name(cfg->backend), "docker");
	assert_string_equal(config_approvals_name(cfg->approvals), "off");
	config_free(cfg);
}

/* Plain scalars are typed as PyYAML types them; quoted stay strings. */
static void
test_scalar_types(void **state)
{
	static const struct {
		const char	*text;
		const char	*json;
	} cases[] = {
		{ "yes", "true" }, { "No", "false" }, { "ON", "true" },
		{ "off", "false" }, { "true", "true" }, { "FALSE", "false" },
		{ "~", "null" }, { "null", "null" }, { "", "null" },
		{ "0", "0" }, { "-17", "-17" }, { "+5", "5" },
		{ "1_000", "1000" }, { "0755", "493" }, { "0x1F", "31" },
		{ "0b101", "5" }, { "1.5", "1.5" }, { "-.5", "\"-.5\"" },
		{ ".5", "0.5" }, { "5.", "5.0" }, { "1:30", "90" },
		{ "-1:00:01", "-3601" }, { "1:30.5", "90.5" },
		{ "1:60", "\"1:60\"" }, { "0:30", "\"0:30\"" }, { "0_", "0" },
		{ "1.0e+3", "1000.0" }, { "1e3", "\"1e3\"" },
		{ ".inf", "\".inf\"" }, { ".nan", "\".nan\"" },
		{ "0.", "0.0" }, { "08", "\"08\"" },
		{ "'yes'", "\"yes\"" }, { "\"12\"", "\"12\"" },
		{ "!!str 12", "\"12\"" }, { "!!int \"12\"", "12" },
		{ "!!float 2", "2.0" }, { "!!bool yes", "true" },
		{ "!!null ''", "null" }, { "2001-12-14", "\"2001-12-14\"" },
		{ "9223372036854775807", "9223372036854775807" },
		{ "-9223372036854775808", "-9223372036854775808" },
		{ "\"caf\\u00e9\"", "\"caf\xc3\xa9\"" },
		{ "a b  c", "\"a b  c\"" }, { "|\n  x\n  y", "\"x\\ny\\n\"" },
		{ "\"\\0\"", "\"\\u0000\"" },
	};
	char text[256];
	size_t i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		struct hermes_config *cfg;
		char *s;

		(void)snprintf(text, sizeof(text), "v: %s\n", cases[i].text);
		cfg = parse_ok(text);
		s = json_dumps(config_get(cfg, "v"), JSON_ENCODE_ANY |
		    JSON_COMPACT | JSON_REAL_PRECISION(17));
		assert_non_null(s);
		if (strcmp(s, cases[i].json) != 0)
			fail_msg("%s: want %s got %s", cases[i].text,
			    cases[i].json, s);
		free(s);
		config_free(cfg);
	}
}

/*
 * Every known key with a value of the wrong type: the error names the key
 * and the line and column of the value. The YAML is generated with the
 * key nested at its path, one level per line, after a comment line.
 */
static void
test_wrong_types(void **state)
{
	static const struct {
		const char	*path;
		const char	*value;
		const char	*msg;
	} cases[] = {
		{ "model", "42", "expected a string or a mapping, got an "
		  "integer" },
		{ "model.default", "[a]", "expected a string, got a list" },
		{ "model.provider", "yes", "expected a string, got true or "
		  "false" },
		{ "model.base_url", "{a: 1}", "expected a string, got a "
		  "mapping" },
		{ "model.api_key", "12", "expected a string" },
		{ "model.context_length", "big", "expected an integer" },
		{ "providers", "[]", "expected a mapping" },
		{ "custom_providers", "x", "expected a list" },
		{ "fallback_providers", "{provider: x}", "expected a list" },
		{ "fallback_model", "x", "expected a mapping" },
		{ "terminal", "local", "expected a mapping, got a string" },
		{ "terminal.backend", "3", "expected a string" },
		{ "terminal.backend", "modal", "\"modal\" is not one of: local, "
		  "ssh, docker" },
		{ "terminal.cwd", "[/]", "expected a string" },
		{ "terminal.timeout", "\"180\"", "expected an integer, got a "
		  "string" },
		{ "terminal.timeout", "0", "0 is out of range [1, 86400]" },
		{ "terminal.timeout", "1.5", "expected an integer, got a "
		  "number" },
		{ "terminal.ssh_host", "1", "expected a string" },
		{ "terminal.ssh_port", "70000", "70000 is out of range [1, 65535]" },
		{ "terminal.ssh_key", "no", "expected a string" },
		{ "terminal.docker_image", "{}", "expected a string" },
		{ "terminal.docker_mount_cwd_to_workspace", "maybe",
		  "expected true or false" },
		{ "terminal.docker_forward_env", "HOME", "expected a list" },
		{ "terminal.container_cpu", "many", "expected a number" },
		{ "terminal.env_passthrough", "1", "expected a list" },
		{ "approvals", "[]", "expected a mapping" },
		{ "approvals.mode", "auto", "\"auto\" is not one of: manual, "
		  "smart, off" },
		{ "approvals.mode", "1", "expected true or false or a string, got an integer" },
		{ "approvals.timeout", "soon", "expected an integer" },
		{ "approvals.deny", "rm", "expected a list" },
		{ "command_allowlist", "ls", "expected a list, got a string" },
		{ "agent", "1", "expected a mapping" },
		{ "agent.max_turns", "\"90\"", "expected an integer, got a "
		  "string" },
		{ "agent.max_turns", "-1", "-1 is out of range [1, 100000]" },
		{ "agent.reasoning_effort", "huge", "\"huge\" is not one of" },
		{ "compression.enabled", "1", "expected true or false, got an "
		  "integer" },
		{ "compression.threshold", "half", "expected a number" },
		{ "compression.threshold", "1.5", "1.5 is out of range [0, 1]" },
		{ "compression.protect_last_n", "x", "expected an integer" },
		{ "memory", "on", "expected a mapping, got true or false" },
		{ "memory.memory_enabled", "\"yes\"", "expected true or false" },
		{ "memory.user_profile_enabled", "2", "expected true or false" },
		{ "memory.memory_char_limit", "lots", "expected an integer" },
		{ "display", "x", "expected a mapping" },
		{ "display.tool_progress", "loud", "\"loud\" is not one of: off, new, "
		  "all, verbose, log" },
		{ "display.streaming", "fast", "expected true or false" },
		{ "sandbox", "strict", "expected a mapping" },
		{ "sandbox.require", "\"true\"", "expected true or false, got "
		  "a string" },
		{ "sandbox.network", "none", "expected true or false" },
		{ "limits", "5", "expected a mapping" },
		{ "limits.max_clients_per_uid", "0", "0 is out of range [1, 1024]" },
		{ "limits.command_memory_mb", "2G", "expected an integer" },
		{ "tenants", "[alice]", "expected a mapping" },
		{ "mcp_servers", "[]", "expected a mapping" },
		{ "session_reset.at_hour", "24", "24 is out of range [0, 23]" },
		{ "max_concurrent_sessions", "many", "expected an integer" },
	};
	char text[1024], want[512], seg[64];
	size_t i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		const char *p = cases[i].path, *dot;
		unsigned depth = 0;
		size_t len, o;

		o = (size_t)snprintf(text, sizeof(text), "# case %zu\n", i);
		for (;;) {
			dot = strchr(p, '.');
			len = dot ? (size_t)(dot - p) : strlen(p);
			(void)snprintf(seg, sizeof(seg), "%.*s", (int)len, p);
			o += (size_t)snprintf(text + o, sizeof(text) - o,
			    "%*s%s:%s", (int)(depth * 2), "", seg,
			    dot ? "\n" : " ");
			if (dot == NULL)
				break;
			p = dot + 1;
			depth++;
		}
		(void)snprintf(text + o, sizeof(text) - o, "%s\n",
		    cases[i].value);
		(void)snprintf(want, sizeof(want), "t.yaml:%u:%zu: %s: %s",
		    depth + 2, depth * 2 + len + 3, cases[i].path,
		    cases[i].msg);
		parse_fails(text, want);
	}
}

/* Lists and wildcard keys point at the right element. */
static void
test_wrong_types_nested(void **state)
{
	(void)state;
	parse_fails("fallback_providers:\n  - provider: anthropic\n"
	    "  - provider: custom\n    model: [x]\n",
	    "t.yaml:4:12: fallback_providers[1].model: expected a string, "
	    "got a list");
	parse_fails("fallback_providers: [x]\n",
	    "t.yaml:1:22: fallback_providers[0]: expected a mapping, got a "
	    "string");
	parse_fails("command_allowlist:\n  - ls\n  - 12\n",
	    "t.yaml:3:5: command_allowlist[1]: expected a string, got an "
	    "integer");
	parse_fails("command_allowlist: [ls, ~]\n",
	    "t.yaml:1:25: command_allowlist[1]: expected a string, got null");
	parse_fails("providers:\n  mine:\n    base_url: 8080\n",
	    "t.yaml:3:15: providers.mine.base_url: expected a string");
	parse_fails("mcp_servers:\n  fs:\n    args: [-y, {a: 1}]\n",
	    "t.yaml:3:16: mcp_servers.fs.args[1]: expected a string, got a "
	    "mapping");
	parse_fails("tenants:\n  alice: 1000\n",
	    "t.yaml:2:10: tenants.alice: expected a mapping");
	/* A duplicate key: the last value is the one checked and kept. */
	parse_fails("terminal:\n  timeout: 5\n  timeout: x\n",
	    "t.yaml:3:12: terminal.timeout: expected an integer");
	/* Values merged with "<<" are reported where they are written. */
	parse_fails("base: &b\n  timeout: nope\nterminal:\n  <<: *b\n",
	    "t.yaml:2:12: terminal.timeout: expected an integer");
	/* Null means "default" for every known key. */
	config_free(parse_ok("terminal:\n  timeout:\n  backend: ~\n"
	    "approvals:\nmodel: null\n"));
}

static void
test_malformed(void **state)
{
	struct hermes_config *cfg = (void *)1;
	char err[CFG_MAX_ERR] = "", want[2 * PATH_MAX];

	(void)state;
	assert_int_equal(config_load_file(fixture("malformed.yaml"), &cfg, err,
	    sizeof(err)), -1);
	assert_null(cfg);
	(void)snprintf(want, sizeof(want), "%s:4:1: found unexpected end of "
	    "stream while scanning a quoted scalar", fixture("malformed.yaml"));
	assert_string_equal(err, want);

	parse_fails("a: [1, 2\n", "t.yaml:2:1: did not find expected ',' or "
	    "']' while parsing a flow sequence");
	parse_fails("a: b\n c: d\n", "t.yaml:2:3: mapping values are not "
	    "allowed in this context");
	parse_fails("a:\n\t- x\n", "t.yaml:2:1: found character that cannot "
	    "start any token while scanning for the next token");
	parse_fails("a: 1\nb: [\n", "t.yaml:3:1: did not find expected node "
	    "content while parsing a flow node");
	parse_fails("- 1\n- 2\n", "t.yaml:1:1: the document must be a "
	    "mapping of keys");
	parse_fails("just text\n", "t.yaml:1:1: the document must be a "
	    "mapping");
	parse_fails("a: 1\n---\nb: 2\n", "t.yaml:2:1: more than one document");
	parse_fails("x: !!python/object:os.system ls\n",
	    "t.yaml:1:4: unsupported tag tag:yaml.org,2002:python/object");
	parse_fails("x: !custom 1\n", "t.yaml:1:4: unsupported tag !custom");
	parse_fails("x: !!int abc\n", "t.yaml:1:4: \"abc\" is not a valid int");
	parse_fails("? [a, b]\n: c\n", "t.yaml:1:3: a list cannot be a mapping "
	    "key");
	parse_fails("{a: 1}: c\n", "a mapping cannot be a mapping key");
	parse_fails("x: *nowhere\n", "t.yaml:1:4: alias *nowhere names no "
	    "finished anchor");
	parse_fails("a: \"\\xff\\ud800\"\n", "t.yaml:1:");
	parse_fails("x:\n  <<: 5\n", "t.yaml:2:7: \"<<\" takes a mapping");
	parse_fails("a: \xc3\x28\n", "t.yaml:1:5: invalid trailing UTF-8 octet");
}

static void
test_aliases_and_merges(void **state)
{
	struct hermes_config *cfg;
	char *pub;

	(void)state;
	cfg = parse_ok("defaults: &d {timeout: 30, cwd: /w}\n"
	    "list: &l [a, b]\n"
	    "terminal:\n  <<: *d\n  timeout: 60\n"
	    "command_allowlist: *l\n"
	    "two:\n  <<: [{p: 1, q: 1}, {p: 2, r: 2}]\n");
	assert_int_equal(cfg->terminal_timeout, 60);
	assert_string_equal(cfg->terminal_cwd, "/w");
	assert_int_equal(json_array_size(config_get(cfg,
	    "command_allowlist")), 2);
	assert_int_equal(json_integer_value(config_get(cfg, "two.p")), 1);
	assert_int_equal(json_integer_value(config_get(cfg, "two.r")), 2);
	assert_null(config_get(cfg, "terminal.<<"));
	pub = config_public_json(cfg);
	assert_non_null(strstr(pub, "\"command_allowlist\":[\"a\",\"b\"]"));
	free(pub);
	config_free(cfg);
	/* A quoted "<<" is an ordinary key. */
	cfg = parse_ok("x: {'<<': 1}\n");
	assert_int_equal(json_integer_value(config_get(cfg, "x.<<")), 1);
	config_free(cfg);
	/* An alias can be a key when it names a string. */
	cfg = parse_ok("k: &k name\nm: {*k : 1}\n");
	assert_int_equal(json_integer_value(config_get(cfg, "m.name")), 1);
	config_free(cfg);
	/* A cycle: the anchor is not finished when the alias is read. */
	parse_fails("a: &a [1, *a]\n", "t.yaml:1:11: alias *a names no "
	    "finished anchor");
	parse_fails("a: &a {b: *a}\n", "alias *a names no finished anchor");
}

static char *
repeat(const char *unit, size_t n, const char *pre, const char *post)
{
	size_t ul = strlen(unit), pl = strlen(pre), ql = strlen(post), i;
	char *s = xmalloc(pl + ul * n + ql + 1);

	memcpy(s, pre, pl);
	for (i = 0; i < n; i++)
		memcpy(s + pl + i * ul, unit, ul);
	memcpy(s + pl + n * ul, post, ql + 1);
	return s;
}

static void
test_bombs(void **state)
{
	char path[PATH_MAX], err[CFG_MAX_ERR], buf[4096], *s, *t;
	struct hermes_config *cfg = (void *)1;
	size_t o, i;
	uint64_t t0;

	(void)state;
	/* Billion laughs: 9 levels of 9 aliases = 387M values expanded. */
	o = (size_t)snprintf(buf, sizeof(buf), "a: &a [lol,lol,lol,lol,lol,"
	    "lol,lol,lol,lol]\n");
	for (i = 1; i < 10; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%c: &%c [*%c,*%c,"
		    "*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n", (int)('a' + i),
		    (int)('a' + i), (int)('a' + i - 1), (int)('a' + i - 1),
		    (int)('a' + i - 1), (int)('a' + i - 1), (int)('a' + i - 1),
		    (int)('a' + i - 1), (int)('a' + i - 1), (int)('a' + i - 1),
		    (int)('a' + i - 1));
	t0 = now_ms();
	parse_fails(buf, "t.yaml:6:8: more than 100000 values (aliases "
	    "expanded); refusing");
	assert_true(now_ms() - t0 < 1000);
	/* Doubling: 2^40 values from 40 lines. */
	o = (size_t)snprintf(buf, sizeof(buf), "k0: &k0 [1]\n");
	for (i = 1; i < 40; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "k%zu: &k%zu "
		    "[*k%zu, *k%zu]\n", i, i, i - 1, i - 1);
	parse_fails(buf, "more than 100000 values");
	/* Just under the limit is fine. */
	config_free(parse_ok("k0: &k0 [1,2,3,4,5,6,7,8,9,10]\n"
	    "k1: &k1 [*k0,*k0,*k0,*k0,*k0,*k0,*k0,*k0,*k0,*k0]\n"
	    "k2: &k2 [*k1,*k1,*k1,*k1,*k1,*k1,*k1,*k1,*k1,*k1]\n"
	    "k3: [*k2,*k2,*k2,*k2,*k2,*k2,*k2,*k2,*k2,*k2]\n"));

	/* Many merges of a big anchor: linear, not quadratic, time. */
	{
		size_t cap = 64 * 1024;
		char *m = xmalloc(cap);

		o = (size_t)snprintf(m, cap, "base: &b\n");
		for (i = 0; i < 90; i++)
			o += (size_t)snprintf(m + o, cap - o, "  k%zu: %zu\n",
			    i, i);
		o += (size_t)snprintf(m + o, cap - o, "list:\n");
		for (i = 0; i < 1000; i++)
			o += (size_t)snprintf(m + o, cap - o, "  - <<: *b\n");
		t0 = now_ms();
		parse_fails(m, "t.yaml:638:9: more than 100000 values");
		m[o - 500 * 10] = '\0';	/* 500 merges: accepted */
		config_free(parse_ok(m));
		assert_true(now_ms() - t0 < 2000);
		free(m);
	}

	/* Deep nesting: flow, block, and through an alias. */
	s = repeat("[", 40, "a: ", "");
	t = repeat("]", 40, s, "\n");
	parse_fails(t, "t.yaml:1:35: nested deeper than 32 levels");
	free(s);
	free(t);
	s = repeat("[", 31, "a: ", "");
	t = repeat("]", 31, s, "\n");
	config_free(parse_ok(t));
	free(s);
	free(t);
	o = 0;
	for (i = 0; i < 40; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%*sk:\n",
		    (int)(i * 2), "");
	parse_fails(buf, "nested deeper than 32 levels");
	s = repeat("[", 30, "a: &a ", "");
	t = repeat("]", 30, s, "\nb: [[[[*a]]]]\n");
	parse_fails(t, "t.yaml:2:8: alias *a nests deeper than 32 levels");
	free(s);
	free(t);

	/* Too big: refused before parsing. */
	s = repeat("#", CFG_MAX_FILE + 1, "", "");
	assert_int_equal(config_parse("t.yaml", s, strlen(s), &cfg, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "larger than"));
	(void)snprintf(path, sizeof(path), "%s/big.yaml", tmpdir);
	write_file(path, s, 0600);
	assert_int_equal(config_load_file(path, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "big.yaml: larger than 1048576 bytes; "
	    "refusing"));
	free(s);
	/* Many anchors. */
	s = repeat("- &x 1\n", CFG_MAX_ANCHORS + 1, "l:\n", "");
	parse_fails(s, "more than 1024 anchors");
	free(s);
	/* Not a regular file. */
	assert_int_equal(config_load_file("/dev/null", &cfg, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "/dev/null: not a regular file");
}

static void
test_tenants(void **state)
{
	struct hermes_config *cfg = NULL;
	const struct cfg_tenant *t;
	char err[CFG_MAX_ERR];

	(void)state;
	if (config_load_file(fixture("tenants.yaml"), &cfg, err,
	    sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(cfg->ntenants, 3);
	assert_string_equal(cfg->tenants[0].name, "alice");
	assert_int_equal(cfg->tenants[0].uid, 1000);
	assert_string_equal(cfg->tenants[0].home, "/home/alice/.hermes");
	t = config_tenant_by_uid(cfg, 1001);
	assert_non_null(t);
	assert_string_equal(t->name, "bob");
	assert_string_equal(t->home, "/srv/hermes/bob");
	t = config_tenant_by_uid(cfg, 0);
	assert_non_null(t);
	assert_string_equal(t->name, "root-admin");
	assert_string_equal(t->home, "/root/.hermes");
	assert_int_equal(t->gid, 0);
	assert_null(config_tenant_by_uid(cfg, 4242));
	config_free(cfg);

	parse_fails("tenants:\n  a: {uid: 1000, home: /a}\n"
	    "  b: {uid: 1000, home: /b}\n",
	    "t.yaml:3:12: tenants.b.uid: uid 1000 is also tenant a's");
	parse_fails("tenants:\n  a: {uid: no-such-user-here, home: /a}\n",
	    "t.yaml:2:12: tenants.a.uid: no user \"no-such-user-here\"");
	parse_fails("tenants:\n  a: {uid: -1, home: /a}\n",
	    "t.yaml:2:12: tenants.a.uid: not a uid");
	parse_fails("tenants:\n  a: {uid: 1000, home: rel/dir}\n",
	    "t.yaml:2:24: tenants.a.home: must be an absolute path");
	parse_fails("tenants:\n  a: {home: /a}\n",
	    "t.yaml:2:6: tenants.a.uid: missing");
	parse_fails("tenants:\n  \"a b\": {uid: 5, home: /a}\n",
	    "t.yaml:2:10: tenants.a b: tenant names are 1-32 letters");
}

static void
collect(const char *path, const char *value, void *arg)
{
	char *buf = arg;

	(void)strlcat(buf, path, 1024);
	(void)strlcat(buf, "=", 1024);
	(void)strlcat(buf, value, 1024);
	(void)strlcat(buf, ";", 1024);
}

static void
test_secrets(void **state)
{
	char seen[1024] = "";
	struct hermes_config *cfg = NULL;
	char path[PATH_MAX], link[PATH_MAX], err[CFG_MAX_ERR];
	char want[2 * PATH_MAX + 128];
	char *pub;

	(void)state;
	/* Secrets never reach workers. */
	cfg = parse_ok("model:\n  default: m\n  api_key: sk-secret\n"
	    "fallback_providers:\n  - {provider: x, api_key: sk-2}\n"
	    "terminal: {sudo_password: hunter2}\n"
	    "mcp_servers:\n  gh:\n    env: {GITHUB_PERSONAL_ACCESS_TOKEN: t}\n"
	    "    headers: {Authorization: Bearer x}\n"
	    "tokens_total: 5\nmax_tokens: 9\n");
	assert_int_equal(cfg->has_secrets, 1);
	assert_string_equal(cfg->api_key, "sk-secret");
	pub = config_public_json(cfg);
	assert_non_null(pub);
	assert_null(strstr(pub, "sk-"));
	assert_null(strstr(pub, "hunter2"));
	assert_null(strstr(pub, "Bearer"));
	assert_null(strstr(pub, "GITHUB_PERSONAL"));
	assert_non_null(strstr(pub, "\"max_tokens\":9"));
	assert_non_null(strstr(pub, "\"tokens_total\":5"));
	assert_non_null(strstr(pub, "\"provider\":\"x\""));
	free(pub);
	config_foreach_secret(cfg, collect, seen);
	assert_string_equal(seen, "model.api_key=sk-secret;"
	    "fallback_providers.0.api_key=sk-2;terminal.sudo_password=hunter2;"
	    "mcp_servers.gh.env.GITHUB_PERSONAL_ACCESS_TOKEN=t;"
	    "mcp_servers.gh.headers.Authorization=Bearer x;");
	config_free(cfg);
	cfg = parse_ok("model: {api_key: ''}\n");
	assert_int_equal(cfg->has_secrets, 0);
	config_free(cfg);

	/* A config.yaml with an api_key must be 0600. */
	(void)snprintf(path, sizeof(path), "%s/config.yaml", tmpdir);
	write_file(path, "model:\n  api_key: sk-abc\n", 0644);
	assert_int_equal(config_load(tmpdir, &cfg, err, sizeof(err)), -1);
	assert_null(cfg);
	(void)snprintf(want, sizeof(want), "%s: holds secrets but is "
	    "accessible by group or others (mode 0644); fix: chmod 600 %s",
	    path, path);
	assert_string_equal(err, want);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(config_load(tmpdir, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->api_key, "sk-abc");
	config_free(cfg);
	/* Without secrets, 0644 is fine. */
	write_file(path, "model: gpt-4o\n", 0644);
	assert_int_equal(config_load(tmpdir, &cfg, err, sizeof(err)), 0);
	config_free(cfg);
	/* Unreadable: the error says why. */
	if (geteuid() != 0) {
		write_file(path, "model: gpt-4o\n", 0000);
		assert_int_equal(config_load(tmpdir, &cfg, err, sizeof(err)),
		    -1);
		assert_non_null(strstr(err, "Permission denied"));
	}

	/* config_check_secrecy: mode, symlink, directory. */
	(void)snprintf(path, sizeof(path), "%s/secret", tmpdir);
	write_file(path, "X=1\n", 0640);
	assert_int_equal(config_check_secrecy(path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "(mode 0640); fix: chmod 600"));
	assert_int_equal(chmod(path, 0604), 0);
	assert_int_equal(config_check_secrecy(path, err, sizeof(err)), -1);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(config_check_secrecy(path, err, sizeof(err)), 0);
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(config_check_secrecy(path, err, sizeof(err)), 0);
	(void)snprintf(link, sizeof(link), "%s/link", tmpdir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(config_check_secrecy(link, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is a symbolic link, which is refused; "
	    "fix: replace the link with the file itself"));
	assert_int_equal(config_check_secrecy(tmpdir, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
	(void)snprintf(link, sizeof(link), "%s/absent", tmpdir);
	assert_int_equal(config_check_secrecy(link, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
	/* Owned by someone else: only testable as root. */
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 4242, 4242), 0);
		assert_int_equal(config_check_secrecy(path, err, sizeof(err)),
		    -1);
		assert_non_null(strstr(err, "owned by uid 4242, not by uid 0 "
		    "or root; fix: chown 0"));
		/* System mode: the tenant's own files are accepted. */
		assert_int_equal(config_check_secrecy_owner(path, 4242, err,
		    sizeof(err)), 0);
		(void)snprintf(path, sizeof(path), "%s/config.yaml", tmpdir);
		write_file(path, "model: {api_key: sk-t}\n", 0600);
		assert_int_equal(chown(path, 4242, 4242), 0);
		assert_int_equal(config_load(tmpdir, &cfg, err, sizeof(err)),
		    -1);
		assert_non_null(strstr(err, "owned by uid 4242"));
		assert_int_equal(config_load_owner(tmpdir, 4242, &cfg, err,
		    sizeof(err)), 0);
		assert_string_equal(cfg->api_key, "sk-t");
		config_free(cfg);
	}
}

/*
 * test_config --dump FILE: the file's JSON, keys sorted (for the
 * differential test against PyYAML in tests/regress/config_pyyaml.sh).
 */
static int
dump(const char *path)
{
	struct hermes_config *cfg = NULL;
	char err[CFG_MAX_ERR], *s;

	if (config_load_file(path, &cfg, err, sizeof(err)) == -1) {
		printf("ERR %s\n", err);
		return 1;
	}
	s = json_dumps(cfg->root, JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_ENSURE_ASCII | JSON_REAL_PRECISION(17));
	if (s == NULL)
		return 1;
	printf("%s\n", s);
	free(s);
	config_free(cfg);
	return 0;
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_hermes_full),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_model_forms),
		cmocka_unit_test(test_scalar_types),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_wrong_types_nested),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_aliases_and_merges),
		cmocka_unit_test(test_bombs),
		cmocka_unit_test(test_tenants),
		cmocka_unit_test(test_secrets),
	};

	if (argc == 3 && strcmp(argv[1], "--dump") == 0)
		return dump(argv[2]);
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
