/* Linked into recur only in the sanitizer build (RECUR_SANITIZE): dlclose does nothing, so the
 * plugins Open MPI, PMIx and HDF5 load stay mapped until exit and LeakSanitizer can name the library
 * a leak came from with its fast unwinder. Without it each leaked plugin allocation shows an
 * unknown module, and matching tests/lsan.supp needed fast_unwind_on_malloc=0, which cost every
 * sanitized process start ~0.7 s (most of the sanitizer pass's time). */
int dlclose(void *handle);

int dlclose(void *handle) {
  (void)handle;
  return 0;
}
