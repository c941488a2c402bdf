/*-------------------------------------------------------------------------
 *
 * test_dl_loader.c
 *		Unit tests: a library loaded on first use, and what a caller is told
 *		when it cannot be (libcurl and libpq are reached this way).
 *
 * archive_helper/test/test_dl_loader.c
 *
 *-------------------------------------------------------------------------
 */

#include "dl_loader.h"
#include "tap.h"

static size_t (*my_strlen) (const char *);

static const ArchDlSymbol libc_symbols[] = {{"strlen", &my_strlen}};

static void
test_loaded(void)
{
	ArchDlLibrary lib = {
		.soname = "libc.so.6", .what = "libc", .hint = "Hint.",
		.symbols = libc_symbols, .nsymbols = 1, .lock = PTHREAD_MUTEX_INITIALIZER,
	};
	ArchError	err;

	tap_ok(arch_dl_load(&lib, &err) == ARCH_OK, "a library with every symbol loads");
	tap_ok(my_strlen != NULL && my_strlen("four") == 4, "... and its functions are in the table");
	tap_ok(arch_dl_load(&lib, &err) == ARCH_OK, "a second call succeeds too");
}

static void
test_refused(void)
{
	static void (*missing) (void);
	static const ArchDlSymbol bad_symbols[] = {
		{"strlen", &my_strlen},
		{"dbops_no_such_function", &missing},
	};
	ArchDlLibrary nolib = {
		.soname = "libdbops_no_such_library.so.1", .what = "libnothing", .hint = "Install it.",
		.symbols = libc_symbols, .nsymbols = 1, .lock = PTHREAD_MUTEX_INITIALIZER,
	};
	ArchDlLibrary nosym = {
		.soname = "libc.so.6", .what = "libc", .hint = "Hint.",
		.symbols = bad_symbols, .nsymbols = 2, .lock = PTHREAD_MUTEX_INITIALIZER,
	};
	ArchError	err;

	tap_ok(arch_dl_load(&nolib, &err) == ARCH_FATAL, "a missing library is a fatal error");
	tap_like(err.message, "could not load libnothing: libdbops_no_such_library.so.1",
			 "... naming the library and the loader's reason");
	tap_is_str(err.detail, "Install it.", "... with the loader's hint as detail");
	tap_ok(arch_dl_load(&nolib, &err) == ARCH_FATAL, "... and again on the next call, without a retry");
	tap_like(err.message, "could not load libnothing", "... with the same message");

	tap_ok(arch_dl_load(&nosym, &err) == ARCH_FATAL, "a missing symbol is a fatal error");
	tap_is_str(err.message, "could not load libc: symbol \"dbops_no_such_function\" not found in libc.so.6",
			   "... naming the symbol and the library");
}

int
main(void)
{
	test_loaded();
	test_refused();
	return tap_done();
}
