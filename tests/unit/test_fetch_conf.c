/*
 * llm-fetch configuration: the provider table, the fallback chain, the
 * key names read from the secrets (NAME, NAME_2 ...), strategies, the
 * egress rule (https, plain http only to loopback) and key redaction.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ipc/util.h"
#include "workers/fetch/fetch.h"
#include "workers/fetch/fetch_int.h"

static const char *const secrets[][2] = {
	{ "ANTHROPIC_API_KEY", "sk-ant-one-1111111111" },
	{ "ANTHROPIC_API_KEY_2", "sk-ant-two-2222222222" },
	{ "ANTHROPIC_API_KEY_3", "sk-ant-three-33333333" },
	{ "OPENROUTER_API_KEY", "sk-or-abcdefabcdef" },
	{ "OPENAI_API_KEY", "sk-oa-999999999999" },
	{ "OPENAI_BASE_URL", "http://127.0.0.1:8080/v1" },
	{ "TELEGRAM_BOT_TOKEN", "123:telegram" },
	{ "model.api_key", "sk-inline-config-key" },
};

static int	 looked_up[nitems(secrets)];

static const char *
lookup(void *arg, const char *name, size_t *len)
{
	size_t	 i;

	for (i = 0; i < nitems(secrets); i++)
		if (strcmp(secrets[i][0], name) == 0) {
			looked_up[i]++;
			*len = strlen(secrets[i][1]);
			return secrets[i][1];
		}
	return NULL;
}

static int
parse(struct fetch_conf *c, const char *json)
{
	char	 err[256];
	int	 rc;

	memset(c, 0, sizeof(*c));
	rc = fetch_conf_parse(c, json, lookup, NULL, err, sizeof(err));
	if (rc == -1)
		fprintf(stderr, "(expected?) %s\n", err);
	return rc;
}

static void
test_anthropic_keys(void **state)
{
	struct fetch_conf	 c;
	struct fetch_prov	*p;

	assert_int_equal(parse(&c, "{\"model\":{\"provider\":\"anthropic\","
	    "\"default\":\"claude-sonnet-4\"},\"credential_pool_strategies\":"
	    "{\"anthropic\":\"round_robin\"},\"agent\":{\"api_max_retries\":"
	    "5}}"), 0);
	assert_int_equal(c.nchain, 1);
	p = &c.chain[0];
	assert_string_equal(p->provider, "anthropic");
	assert_string_equal(p->model, "claude-sonnet-4");
	assert_string_equal(p->base, "https://api.anthropic.com");
	assert_string_equal(p->host, "api.anthropic.com");
	assert_int_equal(p->port, 443);
	assert_false(p->loopback);
	assert_string_equal(p->shape->name, "anthropic");
	assert_int_equal(p->nkeys, 4);
	assert_string_equal(p->keys[0].val, "sk-inline-config-key");
	assert_string_equal(p->keys[1].val, "sk-ant-one-1111111111");
	assert_string_equal(p->keys[3].name, "ANTHROPIC_API_KEY_3");
	assert_int_equal(p->strategy, KS_ROUND_ROBIN);
	assert_int_equal(c.max_retries, 5);
	assert_true(c.arena.mem != NULL);
	fetch_conf_free(&c);
	assert_null(c.arena.mem);
}

static void
test_chain(void **state)
{
	struct fetch_conf	 c;

	/* A bare model string means OpenRouter. */
	assert_int_equal(parse(&c, "{\"model\":\"anthropic/claude-opus-4\","
	    "\"fallback_providers\":[{\"provider\":\"custom\",\"model\":"
	    "\"llama\"},{\"provider\":\"anthropic\",\"model\":\"claude\","
	    "\"base_url\":\"http://localhost:9999\"}]}"), 0);
	assert_int_equal(c.nchain, 3);
	assert_string_equal(c.chain[0].provider, "openrouter");
	assert_string_equal(c.chain[0].base, "https://openrouter.ai/api/v1");
	assert_true(c.chain[0].flags & PF_CACHE_ENVELOPE);
	/* model.api_key first for the primary, then the .env key. */
	assert_int_equal(c.chain[0].nkeys, 2);
	assert_string_equal(c.chain[0].keys[0].name, "model.api_key");
	assert_string_equal(c.chain[0].keys[1].val, "sk-or-abcdefabcdef");
	/* custom takes OPENAI_BASE_URL and OPENAI_API_KEY. */
	assert_string_equal(c.chain[1].base, "http://127.0.0.1:8080/v1");
	assert_true(c.chain[1].loopback);
	assert_int_equal(c.chain[1].nkeys, 1);
	assert_string_equal(c.chain[2].host, "localhost");
	assert_int_equal(c.chain[2].port, 9999);
	assert_true(c.chain[2].loopback);
	assert_int_equal(c.max_retries, 3);
	assert_int_equal(c.retry_base_ms, 5000);
	fetch_conf_free(&c);

	/* Legacy fallback_model; api_mode overrides the shape. */
	assert_int_equal(parse(&c, "{\"model\":{\"provider\":\"custom\","
	    "\"model\":\"m\",\"base_url\":\"https://llm.example.org/v1/\","
	    "\"api_mode\":\"anthropic_messages\"},\"fallback_model\":{"
	    "\"provider\":\"openai\",\"model\":\"gpt-x\"}}"), 0);
	assert_int_equal(c.nchain, 2);
	assert_string_equal(c.chain[0].shape->name, "anthropic");
	assert_string_equal(c.chain[0].base, "https://llm.example.org/v1");
	assert_string_equal(c.chain[1].provider, "openai");
	assert_true(c.chain[1].flags & PF_MAX_COMPLETION);
	fetch_conf_free(&c);
}

static void
test_egress(void **state)
{
	struct fetch_conf	 c;
	const char		*bad[] = {
		"http://api.example.com/v1",
		"http://127.evil.com/v1",
		"ftp://127.0.0.1/v1",
		"file:///etc/passwd",
		"not a url",
	};
	const char		*good[] = {
		"https://api.example.com/v1",
		"http://127.0.0.1:1234/v1",
		"http://127.1.2.3/v1",
		"http://localhost/v1",
		"http://[::1]:8080/v1",
	};
	char			 json[256];
	size_t			 i;

	for (i = 0; i < nitems(bad); i++) {
		snprintf(json, sizeof(json), "{\"model\":{\"provider\":"
		    "\"custom\",\"default\":\"m\",\"base_url\":\"%s\"}}",
		    bad[i]);
		assert_int_equal(parse(&c, json), -1);
		assert_int_equal(c.nchain, 0);
		fetch_conf_free(&c);
	}
	for (i = 0; i < nitems(good); i++) {
		snprintf(json, sizeof(json), "{\"model\":{\"provider\":"
		    "\"custom\",\"default\":\"m\",\"base_url\":\"%s\"}}",
		    good[i]);
		assert_int_equal(parse(&c, json), 0);
		fetch_conf_free(&c);
	}
	assert_int_equal(parse(&c, "{\"model\":{\"provider\":\"nowhere\","
	    "\"default\":\"m\"}}"), -1);
	fetch_conf_free(&c);
	assert_int_equal(parse(&c, "{\"model\":{\"provider\":\"anthropic\"}}"),
	    -1);
	fetch_conf_free(&c);
	assert_int_equal(parse(&c, "[1]"), -1);
	fetch_conf_free(&c);
}

/* Only the key names of configured providers are read. */
static void
test_names_read(void **state)
{
	struct fetch_conf	 c;
	size_t			 i;

	memset(looked_up, 0, sizeof(looked_up));
	assert_int_equal(parse(&c, "{\"model\":{\"provider\":\"anthropic\","
	    "\"default\":\"c\"}}"), 0);
	for (i = 0; i < nitems(secrets); i++) {
		if (strncmp(secrets[i][0], "ANTHROPIC_API_KEY", 17) == 0 ||
		    strcmp(secrets[i][0], "model.api_key") == 0)
			assert_int_equal(looked_up[i], 1);
		else
			assert_int_equal(looked_up[i], 0);
	}
	fetch_conf_free(&c);
}

static void
test_redact(void **state)
{
	struct fetch_conf	 c;
	char			 msg[256];

	assert_int_equal(parse(&c, "{\"model\":{\"provider\":\"anthropic\","
	    "\"default\":\"c\"}}"), 0);
	snprintf(msg, sizeof(msg), "Incorrect API key provided: "
	    "sk-ant-one-111****1111 and sk-ant-two-2222222222.");
	fetch_redact(&c, msg);
	assert_null(strstr(msg, "sk-ant"));
	assert_null(strstr(msg, "2222222222"));
	assert_non_null(strstr(msg, "Incorrect API key provided: "));
	snprintf(msg, sizeof(msg), "plain message, no key");
	fetch_redact(&c, msg);
	assert_string_equal(msg, "plain message, no key");
	fetch_conf_free(&c);
}

static void
test_loopback(void **state)
{
	assert_true(fetch_host_loopback("127.0.0.1"));
	assert_true(fetch_host_loopback("127.255.0.9"));
	assert_true(fetch_host_loopback("localhost"));
	assert_true(fetch_host_loopback("[::1]"));
	assert_false(fetch_host_loopback("127.0.0.1.nip.io"));
	assert_false(fetch_host_loopback("10.0.0.1"));
	assert_false(fetch_host_loopback("localhost.example"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anthropic_keys),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_egress),
		cmocka_unit_test(test_names_read),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_loopback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
