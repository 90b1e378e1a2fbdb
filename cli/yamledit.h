/*
 * Textual edits of config.yaml that keep everything the CLI does not
 * touch: unknown keys, comments, ordering, sequences, block scalars.
 * Block-style mappings only (what Hermes writes); a flow-style parent
 * ("model: {a: b}") is refused rather than rewritten.
 */
#ifndef HERMES_CLI_YAMLEDIT_H
#define HERMES_CLI_YAMLEDIT_H

#include <stddef.h>

#define CLI_YAML_MAX_KEY	256	/* a dotted key */
#define CLI_YAML_MAX_PARTS	16	/* components of a dotted key */

/*
 * Look up a dotted key ("model.provider"). Returns a malloc'd string:
 * the unquoted scalar, or, for a section, its lines de-indented. NULL
 * when absent; *err (static text) says why when it is not just absent.
 */
char	*cli_yaml_get(const char *text, const char *key, const char **err);

/*
 * Set a dotted key to a scalar, creating missing sections. Returns the
 * new text (malloc'd) or NULL with *err set (static text).
 */
char	*cli_yaml_set(const char *text, const char *key, const char *value,
	    const char **err);

/* The value as it must be written: plain when YAML reads it back as the
 * same string, number or boolean, else double-quoted (malloc'd). */
char	*cli_yaml_scalar(const char *value);

/* A scalar value of the top-level mapping, parsed by libyaml (quoted,
 * folded, multi-line: all as YAML reads them). NULL if absent. */
char	*cli_yaml_top_scalar(const char *text, const char *key);

/* Check that text parses as YAML (libyaml). 0 or -1 with a message. */
int	 cli_yaml_valid(const char *text, char *err, size_t errlen);

#endif
