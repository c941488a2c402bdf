/*-------------------------------------------------------------------------
 *
 * fuzz_options.c
 *		libFuzzer harness: the command line (cli_parse_args).
 *
 * The input is argv: arguments separated by NUL bytes, argv[0] first.
 * Whatever it holds, the parser must return ARCH_OK or ARCH_FATAL with an
 * error message, never read out of bounds, leak or exit: a command line
 * PostgreSQL runs must never be taken for something it is not.
 *
 * archive_helper/fuzz/fuzz_options.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "cli_args.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = fuzz_text(data, size);
	char	  **argv = arch_alloc(sizeof(char *) * (size + 2));
	int			argc = 0;
	ArchArgs	args;
	ArchError	err;

	/* argv[0] is the program, then one argument per NUL-separated piece */
	argv[argc++] = "dbops_archive";
	for (size_t i = 0; i < size; i += strlen(text + i) + 1)
		argv[argc++] = text + i;
	argv[argc] = NULL;

	err.message[0] = '\0';
	if (cli_parse_args(argc, argv, &args, &err) != ARCH_OK)
		FUZZ_ASSERT(err.message[0] != '\0');
	else
		FUZZ_ASSERT(args.help || args.version ||
					(args.command != NULL && args.argc == args.command->nargs));
	cli_args_free(&args);
	arch_free(argv);
	arch_free(text);
	return 0;
}
