/*
 * A STREAM-style triad, a[i] = b[i] + s * c[i], over double arrays, to measure the machine's sustainable memory
 * bandwidth in the unit STREAM reports: 24 bytes per element (two loads, one store; write-allocate traffic is not
 * counted), in 10^9 bytes per second, best of the repetitions. OpenMP spreads the loop over all cores, with the
 * arrays first touched by the same static schedule so each thread's pages are local.
 *
 * Build: gcc -O3 -march=native -fopenmp triad.c -o triad
 * Run:   ./triad [MiB per array, default 256 (at least 4x the last-level cache)] [repetitions, default 10]
 * Prints one JSON line.
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
    int repetitions = argc > 2 ? atoi(argv[2]) : 10;
    if (mib == 0 || repetitions < 1) {
        fprintf(stderr, "usage: %s [MiB per array] [repetitions]\n", argv[0]);
        return 2;
    }

    size_t n = mib * 1024 * 1024 / sizeof(double);
    double *a = aligned_alloc(64, n * sizeof(double));
    double *b = aligned_alloc(64, n * sizeof(double));
    double *c = aligned_alloc(64, n * sizeof(double));
    if (a == NULL || b == NULL || c == NULL) {
        fprintf(stderr, "triad: cannot allocate 3 x %zu MiB\n", mib);
        return 1;
    }

#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        a[i] = 0.0;
        b[i] = 1.0;
        c[i] = 2.0;
    }

    const double s = 3.0;
    double best = 1e300;
    for (int r = 0; r < repetitions; r++) {
        double start = omp_get_wtime();
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) {
            a[i] = b[i] + s * c[i];
        }
        double elapsed = omp_get_wtime() - start;
        if (elapsed < best) {
            best = elapsed;
        }
    }

    /* Check the result so the compiler cannot drop the loop, and a broken build cannot report a number. */
    for (size_t i = 0; i < n; i += 4096) {
        if (a[i] != 7.0) {
            fprintf(stderr, "triad: wrong result at %zu: %f\n", i, a[i]);
            return 1;
        }
    }

    printf("{\"triad_gbps\": %.3f, \"best_s\": %.6f, \"array_mib\": %zu, \"threads\": %d, \"repetitions\": %d}\n",
           24.0 * (double)n / best / 1e9, best, mib, omp_get_max_threads(), repetitions);
    free(a);
    free(b);
    free(c);
    return 0;
}
