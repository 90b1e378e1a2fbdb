/*
 * Skills: frontmatter parsing (libyaml), the scan (an invalid skill is
 * reported and skipped), skills_list, skill_view with linked files,
 * skill_manage's six actions, and hostile names and paths refused.
 */
#include <sys/stat.h>

#include <errno.h>

#include "tests/unit/test_store_common.h"

struct fx {
	char		*home;
	struct store	*s;
};

static void
put(const char *home, const char *rel, const char *text)
{
	char *p, *dir;

	xasprintf(&p, "%s/skills/%s", home, rel);
	dir = xstrdup(p);
	*strrchr(dir, '/') = '\0';
	assert_int_equal(store_mkdirs(dir, 0755), 0);
	assert_int_equal(store_write_atomic(p, text, strlen(text), 0644), 0);
	free(dir);
	free(p);
}

static const char good_md[] =
	"---\n"
	"name: git-bisect\n"
	"description: Find the commit that broke a build\n"
	"version: 1.0.0\n"
	"platforms: [linux, macos]\n"
	"metadata:\n"
	"  hermes:\n"
	"    tags: [git, debugging]\n"
	"    related_skills: [git-blame]\n"
	"---\n"
	"# Git bisect\n\nRun `git bisect start`.\n";

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));

	f->home = t_home();
	f->s = t_open(f->home);
	put(f->home, "software-development/git-bisect/SKILL.md", good_md);
	put(f->home, "software-development/git-bisect/references/cheat.md",
	    "bisect cheat sheet\n");
	put(f->home, "note-taking/obsidian/SKILL.md", "---\nname: obsidian\n"
	    "description: Work with an Obsidian vault\n---\nBody\n");
	put(f->home, "apple/imessage/SKILL.md", "---\nname: imessage\n"
	    "description: Send iMessages\nplatforms: [macos]\n---\n");
	/* Broken ones: reported, never break the scan. */
	put(f->home, "broken/bad-yaml/SKILL.md", "---\nname: [unclosed\n---\n");
	put(f->home, "broken/no-front/SKILL.md", "just text\n");
	put(f->home, ".archive/old/SKILL.md", "---\nname: old\ndescription: "
	    "archived\n---\n");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	t_rmhome(f->home);
	free(f);
	return 0;
}

static void
test_frontmatter(void **state)
{
	static const char *const bad[] = {
		"", "---", "---\n", "no frontmatter\n", "---\nname: x\n",
		"---\n- a\n- b\n---\n", "---\n: :\n---\n",
		"---\na: &x [1]\nb: *x\n---\n", "---\n[[[[[[[[[[[[[[[[[[[[[[\n---\n",
		"---\na: 1\n---\n---\nb: 2\n",
	};
	char err[256];
	size_t body, i;
	json_t *fm;

	fm = store_skill_frontmatter(good_md, strlen(good_md), &body, err,
	    sizeof(err));
	assert_non_null(fm);
	assert_string_equal(t_str(fm, "name"), "git-bisect");
	assert_int_equal(json_array_size(json_object_get(fm, "platforms")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    json_object_get(json_object_get(fm, "metadata"), "hermes"),
	    "tags"), 1)), "debugging");
	assert_int_equal(strncmp(good_md + body, "# Git bisect", 12), 0);
	json_decref(fm);
	fm = store_skill_frontmatter("\xef\xbb\xbf---\r\nname: w\r\n---\r\nx",
	    27, &body, err, sizeof(err));
	assert_non_null(fm);
	json_decref(fm);
	for (i = 0; i < nitems(bad); i++) {
		fm = store_skill_frontmatter(bad[i], strlen(bad[i]), &body, err,
		    sizeof(err));
		if (fm != NULL && i != nitems(bad) - 1)
			fail_msg("accepted bad frontmatter #%zu", i);
		json_decref(fm);
		if (fm == NULL)
			assert_true(err[0] != '\0');
	}
}

static void
test_list_view(void **state)
{
	struct fx *f = *state;
	json_t *r, *sk;
	size_t i;

	r = t_tool(f->s, "skills.list", "{}");
	assert_true(json_is_true(json_object_get(r, "success")));
	/* imessage is macOS only; the broken and archived are skipped. */
	assert_int_equal(json_integer_value(json_object_get(r, "count")), 2);
	sk = json_object_get(r, "skills");
	assert_string_equal(t_str(json_array_get(sk, 0), "name"), "obsidian");
	assert_string_equal(t_str(json_array_get(sk, 0), "category"),
	    "note-taking");
	assert_string_equal(t_str(json_array_get(sk, 1), "description"),
	    "Find the commit that broke a build");
	json_decref(r);
	r = t_tool(f->s, "skills.list", "{\"category\": \"note-taking\"}");
	assert_int_equal(json_integer_value(json_object_get(r, "count")), 1);
	json_decref(r);

	r = t_ok(f->s, "skills.index", "{}");
	assert_int_equal(json_array_size(json_object_get(r, "skills")), 3);
	assert_int_equal(json_array_size(json_object_get(r, "invalid")), 2);
	json_array_foreach(json_object_get(r, "invalid"), i, sk)
		assert_non_null(strstr(t_str(sk, "path"), "broken/"));
	json_decref(r);

	r = t_tool(f->s, "skills.view", "{\"name\": \"git-bisect\"}");
	assert_true(json_is_true(json_object_get(r, "success")));
	assert_string_equal(t_str(r, "content"), good_md);
	assert_string_equal(t_str(r, "path"),
	    "software-development/git-bisect/SKILL.md");
	assert_string_equal(json_string_value(json_array_get(json_object_get(r,
	    "tags"), 0)), "git");
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    json_object_get(r, "linked_files"), "references"), 0)),
	    "references/cheat.md");
	json_decref(r);
	r = t_tool(f->s, "skills.view", "{\"name\": \"git-bisect\", "
	    "\"file_path\": \"references/cheat.md\"}");
	assert_string_equal(t_str(r, "content"), "bisect cheat sheet\n");
	assert_string_equal(t_str(r, "file_type"), ".md");
	json_decref(r);
	r = t_tool(f->s, "skills.view", "{\"name\": \"nope\"}");
	assert_false(json_is_true(json_object_get(r, "success")));
	assert_non_null(json_object_get(r, "available_skills"));
	json_decref(r);
}

static void
test_hostile(void **state)
{
	static const char *const paths[] = {
		"../../../../etc/passwd", "/etc/passwd", "references/../../x",
		"references/./x", "references//x", "SKILL.md", "x/../references/a",
		"references", "references/", "scripts/..", "assets/a\\b",
	};
	struct fx *f = *state;
	char *args, *link, err[128];
	json_t *r;
	size_t i;

	for (i = 0; i < nitems(paths); i++) {
		assert_false(store_skill_relpath_ok(paths[i], err, sizeof(err)));
		xasprintf(&args, "{\"action\": \"write_file\", \"name\": "
		    "\"git-bisect\", \"file_path\": \"%s\", \"file_content\": "
		    "\"pwned\"}", paths[i]);
		r = t_tool(f->s, "skills.manage", args);
		free(args);
		assert_false(json_is_true(json_object_get(r, "success")));
		json_decref(r);
		xasprintf(&args, "{\"name\": \"git-bisect\", \"file_path\": "
		    "\"%s\"}", paths[i]);
		r = t_tool(f->s, "skills.view", args);
		free(args);
		assert_false(json_is_true(json_object_get(r, "success")));
		json_decref(r);
	}
	/* A symlink planted inside the skill is never followed. */
	xasprintf(&link, "%s/skills/software-development/git-bisect/"
	    "references/evil", f->home);
	assert_int_equal(symlink("/etc", link), 0);
	r = t_tool(f->s, "skills.manage", "{\"action\": \"write_file\", "
	    "\"name\": \"git-bisect\", \"file_path\": \"references/evil/x\", "
	    "\"file_content\": \"pwned\"}");
	assert_false(json_is_true(json_object_get(r, "success")));
	json_decref(r);
	r = t_tool(f->s, "skills.view", "{\"name\": \"git-bisect\", "
	    "\"file_path\": \"references/evil/passwd\"}");
	assert_false(json_is_true(json_object_get(r, "success")));
	json_decref(r);
	free(link);
	/* Hostile names. */
	{
		static const char *const names[] = { "../x", "A", "-x", ".x",
		    "a/b", "", "x y", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaa" };

		for (i = 0; i < nitems(names); i++) {
			xasprintf(&args, "{\"action\": \"create\", \"name\": "
			    "\"%s\", \"content\": \"---\\nname: x\\n"
			    "description: y\\n---\\n\"}", names[i]);
			r = t_tool(f->s, "skills.manage", args);
			free(args);
			assert_false(json_is_true(json_object_get(r,
			    "success")));
			json_decref(r);
		}
	}
	r = t_tool(f->s, "skills.manage", "{\"action\": \"create\", \"name\": "
	    "\"ok-name\", \"category\": \"../up\", \"content\": \"---\\nname: "
	    "ok-name\\ndescription: y\\n---\\n\"}");
	assert_false(json_is_true(json_object_get(r, "success")));
	json_decref(r);
}

static int
exists(struct fx *f, const char *rel)
{
	struct stat st;
	char *p;
	int rc;

	xasprintf(&p, "%s/skills/%s", f->home, rel);
	rc = lstat(p, &st) == 0;
	free(p);
	return rc;
}

static void
test_manage(void **state)
{
	struct fx *f = *state;
	char *big, *args;
	json_t *r;

	r = t_tool(f->s, "skills.manage", "{\"action\": \"create\", \"name\": "
	    "\"deploy-app\", \"category\": \"devops\", \"content\": \"---\\n"
	    "name: deploy-app\\ndescription: Deploy the app\\n---\\nStep 1\\n\"}");
	assert_true(json_is_true(json_object_get(r, "success")));
	assert_string_equal(t_str(r, "message"), "Skill 'deploy-app' created.");
	json_decref(r);
	assert_true(exists(f, "devops/deploy-app/SKILL.md"));
	r = t_tool(f->s, "skills.manage", "{\"action\": \"create\", \"name\": "
	    "\"deploy-app\", \"content\": \"---\\nname: deploy-app\\n"
	    "description: d\\n---\\n\"}");
	assert_non_null(strstr(t_str(r, "error"), "already exists"));
	json_decref(r);
	r = t_tool(f->s, "skills.manage", "{\"action\": \"create\", \"name\": "
	    "\"nodesc\", \"content\": \"---\\nname: nodesc\\n---\\n\"}");
	assert_non_null(strstr(t_str(r, "error"), "description"));
	json_decref(r);

	r = t_tool(f->s, "skills.manage", "{\"action\": \"patch\", \"name\": "
	    "\"deploy-app\", \"old_string\": \"Step 1\", \"new_string\": "
	    "\"Step 1: build\"}");
	assert_true(json_is_true(json_object_get(r, "success")));
	json_decref(r);
	r = t_tool(f->s, "skills.manage", "{\"action\": \"patch\", \"name\": "
	    "\"deploy-app\", \"old_string\": \"---\\nname\", \"new_string\": "
	    "\"name\"}");
	assert_non_null(strstr(t_str(r, "error"), "break SKILL.md"));
	json_decref(r);
	r = t_tool(f->s, "skills.manage", "{\"action\": \"patch\", \"name\": "
	    "\"deploy-app\", \"old_string\": \"absent\", \"new_string\": \"x\"}");
	assert_false(json_is_true(json_object_get(r, "success")));
	json_decref(r);
	r = t_tool(f->s, "skills.view", "{\"name\": \"deploy-app\"}");
	assert_non_null(strstr(t_str(r, "content"), "Step 1: build"));
	json_decref(r);

	r = t_tool(f->s, "skills.manage", "{\"action\": \"write_file\", "
	    "\"name\": \"deploy-app\", \"file_path\": \"scripts/run.sh\", "
	    "\"file_content\": \"#!/bin/sh\\necho hi\\n\"}");
	assert_true(json_is_true(json_object_get(r, "success")));
	json_decref(r);
	assert_true(exists(f, "devops/deploy-app/scripts/run.sh"));
	big = xmalloc(STORE_SKILL_FILE_MAX + 2);
	memset(big, 'a', STORE_SKILL_FILE_MAX + 1);
	big[STORE_SKILL_FILE_MAX + 1] = '\0';
	xasprintf(&args, "{\"action\": \"write_file\", \"name\": "
	    "\"deploy-app\", \"file_path\": \"assets/big\", \"file_content\": "
	    "\"%s\"}", big);
	r = t_tool(f->s, "skills.manage", args);
	free(args);
	free(big);
	assert_non_null(strstr(t_str(r, "error"), "1 MiB"));
	json_decref(r);
	r = t_tool(f->s, "skills.manage", "{\"action\": \"remove_file\", "
	    "\"name\": \"deploy-app\", \"file_path\": \"scripts/run.sh\"}");
	assert_true(json_is_true(json_object_get(r, "success")));
	json_decref(r);
	assert_false(exists(f, "devops/deploy-app/scripts/run.sh"));

	r = t_tool(f->s, "skills.manage", "{\"action\": \"edit\", \"name\": "
	    "\"deploy-app\", \"content\": \"---\\nname: deploy-app\\n"
	    "description: Rewritten\\n---\\nNew\\n\"}");
	assert_true(json_is_true(json_object_get(r, "success")));
	json_decref(r);
	r = t_tool(f->s, "skills.manage", "{\"action\": \"delete\", \"name\": "
	    "\"deploy-app\"}");
	assert_true(json_is_true(json_object_get(r, "success")));
	json_decref(r);
	assert_false(exists(f, "devops/deploy-app"));
	r = t_tool(f->s, "skills.view", "{\"name\": \"deploy-app\"}");
	assert_false(json_is_true(json_object_get(r, "success")));
	json_decref(r);
	r = t_tool(f->s, "skills.manage", "{\"action\": \"launch\", \"name\": "
	    "\"x\"}");
	assert_non_null(strstr(t_str(r, "error"), "Unknown action"));
	json_decref(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frontmatter),
		cmocka_unit_test_setup_teardown(test_list_view, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_manage, setup, teardown),
	};

	log_init("test_store_skills", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
