// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Replay driver for libFuzzer targets in normal builds: main() runs
 * LLVMFuzzerTestOneInput() over every regular file in the directories (or
 * files) named on the command line, or in FUZZ_CORPUS_ROOT/<program name>/
 * when there are none, so `make check` re-runs every saved input under the normal
 * compiler and any sanitizers configured. Exit status 0 if all inputs ran
 * (a crash is a crash); 1 on I/O errors, a missing corpus or one with no
 * inputs: the corpora are part of the tree, so their absence is a failure,
 * never a skip.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));


static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long len;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		if (f) {
			fclose(f);
		}
		return -1;
	}
	/* One extra byte so a zero-length input still gets a valid pointer. */
	buf = malloc((size_t)len + 1);
	if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	return 0;
}

static int run_path(const char *path, unsigned int *count)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (stat(path, &st) != 0) {
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return run_file(path);
	}
	d = opendir(path);
	if (d == NULL) {
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		char sub[4096];

		if (e->d_name[0] == '.') {
			continue;
		}
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (stat(sub, &st) == 0 && S_ISREG(st.st_mode)) {
			(*count)++;
			if (run_file(sub) != 0) {
				rc = -1;
			}
		}
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned int count = 0;
	int rc = 0;

	if (LLVMFuzzerInitialize) {
		LLVMFuzzerInitialize(&argc, &argv);
	}
	if (argc < 2) {
#ifdef FUZZ_CORPUS_ROOT
		const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
		char dir[4096];

		/* libtool-free build: the program name is the target name. */
		snprintf(dir, sizeof(dir), "%s/%s", FUZZ_CORPUS_ROOT, name);
		if (run_path(dir, &count) != 0) {
			fprintf(stderr, "replay: cannot replay the corpus at %s\n", dir);
			return 1;
		}
#else
		fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
		return 1;
#endif
	}
	for (int i = 1; i < argc; i++) {
		if (run_path(argv[i], &count) != 0) {
			rc = 1;
		}
	}
	printf("replayed %u inputs\n", count);
	if (count == 0) {
		fprintf(stderr, "replay: no inputs to replay\n");
		return 1;
	}
	return rc;
}
