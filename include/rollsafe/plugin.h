/*
 * rollsafe/plugin.h: record types and converters from shared libraries.
 *
 * A plugin is a shared library (`.so`) that defines two symbols:
 *
 *   const unsigned rollsafe_plugin_abi = RS_PLUGIN_ABI_VERSION;
 *   int rollsafe_plugin_register(rs_registry_builder *builder, rs_error *err);
 *
 * rs_plugin_load() first reads rollsafe_plugin_abi from the file (its ELF
 * dynamic symbol table), so that a plugin built for another ABI is refused
 * before any of its code, constructors included, runs; then opens it with
 * dlopen(), checks the symbol again, and calls rollsafe_plugin_register()
 * once with the builder of
 * the registry being assembled. The function declares record types,
 * versions, converters, moved fields and enum maps through the public
 * registry API (rollsafe/registry.h), and returns 0 or a negative RS_E*
 * code with @p err filled. It must not keep the builder.
 *
 * A plugin links none of librollsafe: the rs_* functions it calls are the
 * host's (the `rollsafe` tool exports them; a service links librollsafe).
 * Descriptors and converter functions stay in the plugin's memory, so a
 * plugin stays loaded until rs_plugin_close(), after the registry is freed.
 * `examples/plugin/` is a complete plugin.
 */
#ifndef ROLLSAFE_PLUGIN_H
#define ROLLSAFE_PLUGIN_H

#include "registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The plugin ABI this header describes; a plugin exports it as
 * rollsafe_plugin_abi and is refused when it differs from the host's. */
#define RS_PLUGIN_ABI_VERSION 1

/** Name of the ABI symbol a plugin exports. */
#define RS_PLUGIN_ABI_SYMBOL "rollsafe_plugin_abi"
/** Name of the registration function a plugin exports. */
#define RS_PLUGIN_REGISTER_SYMBOL "rollsafe_plugin_register"

/** The registration function's type. */
typedef int (*rs_plugin_register_fn)(rs_registry_builder *builder,
                                     rs_error *err);

/** A loaded plugin. */
typedef struct rs_plugin rs_plugin;

/**
 * Loads the plugin at @p path and lets it register into @p builder.
 *
 * @param[out] out the plugin, owned by the caller; close it with
 *        rs_plugin_close() after freeing every registry built with it
 * @param path the shared library; a name without a slash is looked up as
 *        dlopen() does (LD_LIBRARY_PATH...)
 * @return 0, RS_EIO (the file cannot be read as a shared object of this
 *         machine, or dlopen failed: the message carries dlerror()),
 *         RS_EINVAL (a symbol is missing, or the plugin's ABI differs),
 *         RS_ENOMEM, or what the registration function returned (the
 *         message prefixed with the path). Text from the plugin and the
 *         loader has its control bytes escaped as \xNN.
 */
RS_EXTERN int rs_plugin_load(rs_plugin **out, const char *path,
                             rs_registry_builder *builder, rs_error *err);

/** Unloads a plugin; NULL is allowed. */
RS_EXTERN void rs_plugin_close(rs_plugin *plugin);

#ifdef __cplusplus
}
#endif
#endif
