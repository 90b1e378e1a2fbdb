/* hermes-llm-fetch: see workers/fetch/fetch.c. */
#include "workers/fetch/fetch.h"

int
main(int argc, char **argv)
{
	fetch_main(argc, argv);
	return 1;
}
