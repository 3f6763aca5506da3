#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* link.h's ElfW */
/*
 * src/schema/plugin.c: plugins, loaded with dlopen().
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rollsafe/plugin.h>

#include "codec/internal.h"

struct rs_plugin {
  void *handle;
};

/*
 * Text that came from a plugin or the dynamic loader, made safe for a
 * terminal: control bytes (escape sequences among them) and DEL as \xNN.
 */
static void printable(char *out, size_t cap, const char *in) {
  static const char hex[] = "0123456789abcdef";
  size_t n = 0;
  for (; *in != '\0' && n + 5 < cap; in++) {
    unsigned char ch = (unsigned char)*in;
    if (ch < 0x20 || ch == 0x7f) {
      out[n++] = '\\';
      out[n++] = 'x';
      out[n++] = hex[ch >> 4];
      out[n++] = hex[ch & 15];
    } else {
      out[n++] = (char)ch;
    }
  }
  out[n] = '\0';
}

/* The outcomes of abi_in_file(). */
enum { ABI_FOUND, ABI_MISSING, ABI_UNREADABLE };

/*
 * The plugin ABI that the shared object at @p path declares, read from the
 * file (its dynamic symbol rollsafe_plugin_abi and the bytes it names),
 * before dlopen() runs any of its code: a plugin of another ABI is refused
 * before its constructors run. ABI_FOUND with *abi; ABI_MISSING when it
 * defines no such symbol; ABI_UNREADABLE with the reason in @p why (not a
 * shared object of this machine's class and byte order, truncated, no
 * section headers).
 */
static int abi_in_file(const char *path, unsigned *abi, char *why, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(why, cap, "cannot be opened: %s", strerror(errno));
    return ABI_UNREADABLE;
  }
  struct stat st;
  void *map = MAP_FAILED;
  size_t size = 0;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
      (uint64_t)st.st_size <= SIZE_MAX) {
    size = (size_t)st.st_size;
    map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  }
  close(fd);
  if (map == MAP_FAILED) {
    snprintf(why, cap, "is not a regular file that can be read");
    return ABI_UNREADABLE;
  }
  const unsigned char *b = map;
  int rc = ABI_UNREADABLE;
  snprintf(why, cap, "is not a shared object of this machine");
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  const unsigned char data = ELFDATA2LSB;
#else
  const unsigned char data = ELFDATA2MSB;
#endif
  const unsigned char class = sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32;
  ElfW(Ehdr) eh;
  if (size < sizeof eh) goto done;
  memcpy(&eh, b, sizeof eh);
  if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      eh.e_ident[EI_CLASS] != class || eh.e_ident[EI_DATA] != data ||
      eh.e_type != ET_DYN)
    goto done;
  if (eh.e_shoff == 0 || eh.e_shnum == 0 ||
      eh.e_shentsize != sizeof(ElfW(Shdr)) || eh.e_shoff > size ||
      (size - eh.e_shoff) / sizeof(ElfW(Shdr)) < eh.e_shnum) {
    snprintf(why, cap, "has no section headers to find its plugin ABI in");
    goto done;
  }
  const ElfW(Shdr) *sh = (const ElfW(Shdr) *)(const void *)(b + eh.e_shoff);
  snprintf(why, cap, "has a malformed symbol table");
  rc = ABI_MISSING;
  for (size_t i = 0; i < eh.e_shnum; i++) {
    ElfW(Shdr) sym_sh, str_sh;
    memcpy(&sym_sh, &sh[i], sizeof sym_sh);
    if (sym_sh.sh_type != SHT_DYNSYM) continue;
    if (sym_sh.sh_link >= eh.e_shnum ||
        sym_sh.sh_entsize != sizeof(ElfW(Sym)) || sym_sh.sh_offset > size ||
        sym_sh.sh_size > size - sym_sh.sh_offset) {
      rc = ABI_UNREADABLE;
      goto done;
    }
    memcpy(&str_sh, &sh[sym_sh.sh_link], sizeof str_sh);
    if (str_sh.sh_offset > size || str_sh.sh_size > size - str_sh.sh_offset) {
      rc = ABI_UNREADABLE;
      goto done;
    }
    const char *strs = (const char *)b + str_sh.sh_offset;
    size_t n_syms = sym_sh.sh_size / sizeof(ElfW(Sym));
    for (size_t k = 0; k < n_syms; k++) {
      ElfW(Sym) sym;
      memcpy(&sym, b + sym_sh.sh_offset + k * sizeof sym, sizeof sym);
      size_t name_len = sizeof RS_PLUGIN_ABI_SYMBOL;
      if (sym.st_name >= str_sh.sh_size ||
          str_sh.sh_size - sym.st_name < name_len ||
          memcmp(strs + sym.st_name, RS_PLUGIN_ABI_SYMBOL, name_len) != 0 ||
          sym.st_shndx == SHN_UNDEF)
        continue;
      /* Defined: its bytes, in the section that holds them. */
      rc = ABI_UNREADABLE;
      snprintf(why, cap, "declares %s where its value cannot be read",
               RS_PLUGIN_ABI_SYMBOL);
      if (sym.st_shndx >= eh.e_shnum || sym.st_size != sizeof *abi) goto done;
      ElfW(Shdr) at;
      memcpy(&at, &sh[sym.st_shndx], sizeof at);
      if (sym.st_value < at.sh_addr || at.sh_size < sizeof *abi ||
          sym.st_value - at.sh_addr > at.sh_size - sizeof *abi)
        goto done;
      if (at.sh_type == SHT_NOBITS) {
        *abi = 0; /* zero-initialised */
      } else {
        uint64_t off = (uint64_t)at.sh_offset + (sym.st_value - at.sh_addr);
        if (off > size || size - off < sizeof *abi) goto done;
        memcpy(abi, b + off, sizeof *abi);
      }
      rc = ABI_FOUND;
      goto done;
    }
  }
done:
  munmap(map, size);
  return rc;
}

int rs_plugin_load(rs_plugin **out, const char *path,
                   rs_registry_builder *builder, rs_error *err) {
  if (out != NULL) *out = NULL;
  if (out == NULL || path == NULL || builder == NULL)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_plugin_load: out, path and builder are required");
  char shown[512], why[512];
  printable(shown, sizeof shown, path);
  /* The ABI first, from the file, when the path names one (a bare name is
   * looked up by dlopen, which then checks the symbol alone). */
  if (strchr(path, '/') != NULL) {
    unsigned declared = 0;
    int found = abi_in_file(path, &declared, why, sizeof why);
    if (found == ABI_UNREADABLE)
      return rs__fail(err, RS_EIO, RS_OFFSET_NONE, "plugin %s %s", shown, why);
    if (found == ABI_MISSING)
      return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                      "plugin %s: not a rollsafe plugin (it lacks %s)", shown,
                      RS_PLUGIN_ABI_SYMBOL);
    if (declared != RS_PLUGIN_ABI_VERSION)
      return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                      "plugin %s: built for plugin ABI %u; this rollsafe has "
                      "ABI %d: rebuild it against these headers (nothing of "
                      "it was run)",
                      shown, declared, RS_PLUGIN_ABI_VERSION);
  }
  rs_plugin *p = rs__alloc(&rs__malloc_allocator, sizeof *p);
  if (p == NULL)
    return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "%s: out of memory", shown);
  /* RTLD_LOCAL: two plugins may define the same names. */
  p->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (p->handle == NULL) {
    const char *dl = dlerror();
    printable(why, sizeof why, dl != NULL ? dl : "cannot be loaded");
    rs__free(&rs__malloc_allocator, p);
    return rs__fail(err, RS_EIO, RS_OFFSET_NONE, "plugin %s: %s", shown, why);
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
        "plugin %s: not a rollsafe plugin (it lacks %s)", shown,
        abi == NULL ? RS_PLUGIN_ABI_SYMBOL : RS_PLUGIN_REGISTER_SYMBOL);
  } else if (*abi != RS_PLUGIN_ABI_VERSION) {
    rc = rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                  "plugin %s: built for plugin ABI %u; this rollsafe has ABI "
                  "%d: rebuild it against these headers",
                  shown, *abi, RS_PLUGIN_ABI_VERSION);
  } else {
    rs_error perr = RS_ERROR_INIT;
    rc = fn(builder, &perr);
    if (rc > 0 || (rc < 0 && perr.code == RS_OK)) {
      /* A plugin returning nonsense still fails cleanly. */
      if (rc > 0) rc = RS_EINVAL;
      rs__fail(err, rc, RS_OFFSET_NONE, "plugin %s: registration failed: %s",
               shown, rs_strerror(rc));
    } else if (rc < 0) {
      perr.message[sizeof perr.message - 1] = '\0';
      printable(why, sizeof why, perr.message);
      rs__fail(err, rc, perr.offset, "plugin %s: %s", shown, why);
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
