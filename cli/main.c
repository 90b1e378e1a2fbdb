/*
 * hermes: the command-line client of hermesd. main() only parses the
 * command line and runs one entry of the subcommand table (args.c);
 * --version and --help never touch the daemon.
 */
#include <stdio.h>

#include "ipc/util.h"
#include "cli/cli.h"

int
main(int argc, char *argv[])
{
	struct cli_args	 a;
	char		 err[512];

	if (cli_parse_args(argc, argv, &a, err, sizeof(err)) != CLI_EXIT_OK) {
		fprintf(stderr, "hermes: %s\n", err);
		fprintf(stderr, "usage: hermes [options] [COMMAND [ARGS]] "
		    "(hermes --help for more)\n");
		return CLI_EXIT_USAGE;
	}
	if (a.version)
		return cli_cmd_version(&a);
	if (a.help)
		return cli_cmd_help(&a);
	log_init("hermes", a.verbose);
	return a.cmd->fn(&a);
}
