/*
 * replay.c: runs LLVMFuzzerTestOneInput over every file of the corpus
 * directories (or single files) named on the command line, without
 * libFuzzer, so any compiler and sanitizer can replay a corpus. A crash,
 * a sanitizer report or a nonzero return fails the run.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path, unsigned *count)
{
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return 1; }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) { fclose(f); free(buf); fprintf(stderr, "%s: out of memory\n", path); return 1; }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        if (n == 0) break;
        len += n;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) { fprintf(stderr, "%s: read error\n", path); free(buf); return 1; }
    /* An exact-size copy, so ASan sees reads past the end of the input. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) { free(buf); return 1; }
    if (len) memcpy(exact, buf, len);
    free(buf);
    int rc = LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    (*count)++;
    if (rc != 0) { fprintf(stderr, "%s: target returned %d\n", path, rc); return 1; }
    return 0;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int run_path(const char *path, unsigned *count)
{
    struct stat st;
    if (stat(path, &st) != 0) { perror(path); return 1; }
    if (!S_ISDIR(st.st_mode)) return run_file(path, count);
    DIR *d = opendir(path);
    if (!d) { perror(path); return 1; }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof *names);
            if (!nn) break;
            names = nn;
        }
        names[n] = malloc(strlen(path) + strlen(e->d_name) + 2);
        if (!names[n]) break;
        sprintf(names[n], "%s/%s", path, e->d_name);
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        failed |= run_path(names[i], count);
        free(names[i]);
    }
    free(names);
    return failed;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    unsigned count = 0;
    int failed = 0;
    for (int i = 1; i < argc; i++) failed |= run_path(argv[i], &count);
    printf("replayed %u inputs%s\n", count, failed ? ", some failed" : "");
    if (count == 0) { fprintf(stderr, "no inputs found: an empty corpus tests nothing\n"); return 1; }
    return failed;
}
