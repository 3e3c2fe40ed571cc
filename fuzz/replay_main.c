/*
 * Corpus replay: feeds files to LLVMFuzzerTestOneInput() so that builds without libFuzzer (gcc,
 * ASan, Valgrind) run the committed corpus as an ordinary test.
 *
 * Usage: replay PATH...   (a PATH that is a directory contributes every regular file in it)
 * Exit status: 0 when at least one input ran; 1 on a usage or I/O error, or when no input was
 * found (an empty corpus would make the test pass without testing anything). A failed fuzz
 * property aborts the process.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_target.h"

/* Reads a whole file into a buffer of exactly its size, so ASan catches any read past the
 * input just as it does under libFuzzer. */
static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0) {
        perror(path);
        fclose(f);
        return -1;
    }
    long end = ftell(f);
    if (end < 0 || fseek(f, 0, SEEK_SET) != 0) {
        perror(path);
        fclose(f);
        return -1;
    }
    size_t size = (size_t)end;
    uint8_t *data = malloc(size > 0 ? size : 1);
    if (data == NULL || fread(data, 1, size, f) != size) {
        fprintf(stderr, "%s: cannot read\n", path);
        free(data);
        fclose(f);
        return -1;
    }
    fclose(f);
    (void)LLVMFuzzerTestOneInput(data, size);
    free(data);
    return 0;
}

/* Runs every regular file directly inside dir, in name order so runs are repeatable. */
static int run_dir(const char *dir, size_t *count)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0) {
        perror(dir);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        int len = snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
        if (rc == 0 && len > 0 && (size_t)len < sizeof(path) && stat(path, &st) == 0 &&
            S_ISREG(st.st_mode)) {
            rc = run_file(path);
            if (rc == 0)
                (*count)++;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    size_t count = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            return 1;
        }
        int rc;
        if (S_ISDIR(st.st_mode)) {
            rc = run_dir(argv[i], &count);
        } else {
            rc = run_file(argv[i]);
            if (rc == 0)
                count++;
        }
        if (rc != 0)
            return 1;
    }
    printf("replayed %zu inputs\n", count);
    return count > 0 ? 0 : 1;
}
