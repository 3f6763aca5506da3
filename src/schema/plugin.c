#define _POSIX_C_SOURCE 200809L
/*
 * src/schema/plugin.c: plugins, loaded with dlopen().
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <rollsafe/plugin.h>

#include "codec/internal.h"

struct rs_plugin {
  void *handle;
};

int rs_plugin_load(rs_plugin **out, const char *path,
                   rs_registry_builder *builder, rs_error *err) {
  if (out != NULL) *out = NULL;
  if (out == NULL || path == NULL || builder == NULL)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_plugin_load: out, path and builder are required");
  rs_plugin *p = rs__alloc(&rs__malloc_allocator, sizeof *p);
  if (p == NULL)
    return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "%s: out of memory", path);
  /* RTLD_LOCAL: two plugins may define the same names. */
  p->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (p->handle == NULL) {
    const char *why = dlerror();
    rs__free(&rs__malloc_allocator, p);
    return rs__fail(err, RS_EIO, RS_OFFSET_NONE, "plugin %s: %s", path,
                    why != NULL ? why : "cannot be loaded");
  }
  int rc;
  const unsigned *abi = dlsym(p->handle, RS_PLUGIN_ABI_SYMBOL);
  void *sym = dlsym(p->handle, RS_PLUGIN_REGISTER_SYMBOL);
  rs_plugin_register_fn fn;
  /* ISO C has no function pointer from void *; POSIX guarantees it works. */
  memcpy(&fn, &sym, sizeof fn);
  if (abi == NULL || sym == NULL) {
    rc = rs__fail(
        err, RS_EINVAL, RS_OFFSET_NONE,
        "plugin %s: not a rollsafe plugin (it lacks %s)", path,
        abi == NULL ? RS_PLUGIN_ABI_SYMBOL : RS_PLUGIN_REGISTER_SYMBOL);
  } else if (*abi != RS_PLUGIN_ABI_VERSION) {
    rc = rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                  "plugin %s: built for plugin ABI %u; this rollsafe has ABI "
                  "%d: rebuild it against these headers",
                  path, *abi, RS_PLUGIN_ABI_VERSION);
  } else {
    rs_error perr = RS_ERROR_INIT;
    rc = fn(builder, &perr);
    if (rc > 0 || (rc < 0 && perr.code == RS_OK)) {
      /* A plugin returning nonsense still fails cleanly. */
      if (rc > 0) rc = RS_EINVAL;
      rs__fail(err, rc, RS_OFFSET_NONE, "plugin %s: registration failed: %s",
               path, rs_strerror(rc));
    } else if (rc < 0) {
      rs__fail(err, rc, perr.offset, "plugin %s: %s", path, perr.message);
    }
  }
  if (rc != 0) {
    dlclose(p->handle);
    rs__free(&rs__malloc_allocator, p);
    return rc;
  }
  *out = p;
  return 0;
}

void rs_plugin_close(rs_plugin *p) {
  if (p == NULL) return;
  dlclose(p->handle);
  rs__free(&rs__malloc_allocator, p);
}
