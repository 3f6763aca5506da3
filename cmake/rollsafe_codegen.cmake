# rollsafe_codegen.cmake: writes the registration code of one record type
# from protoc-c's output, one .pb-c.c per format version. Run in script mode,
# at build time, by rollsafe_add_record_type() (rollsafeRecordType.cmake), or
# by hand in a build without CMake (pkg-config --variable=codegen rollsafe):
#
#   cmake -DTYPE=payments.Payment -DGEN_DIR=gen \
#         -DVERSIONS="payments/v1/payment.pb-c.c;payments/v2/payment.pb-c.c" \
#         [-DMESSAGES="payments.v1.Payment;payments.v2.Payment"] \
#         [-DENCODINGS="raw;envelope"] [-DPREFIX=payments_payment] \
#         -P rollsafe_codegen.cmake
#
# VERSIONS are protoc-c's .pb-c.c files, oldest first, relative to GEN_DIR
# (the directory protoc-c wrote to, which is also where their headers are
# included from); lists may be separated by ';' or '|'. Writes
# GEN_DIR/PREFIX_rollsafe.h and GEN_DIR/PREFIX_rollsafe.c, which declare and
# define
#
#   #define PREFIX_TYPE "payments.Payment"      (upper case)
#   #define PREFIX_NEWEST N                      (upper case)
#   typedef Payments__V1__Payment PREFIX_v1;     one per version
#   int PREFIX_register(rs_registry_builder *builder, rs_error *err);
#   int PREFIX_registry(rs_registry **out, rs_error *err);
#
# The message of version k is MESSAGES' k-th name when given, else the one
# message of the k-th file whose full name is TYPE, or is TYPE once the
# package components that name a version (v1, v2, v1beta1) are left out, as
# `rollsafe scan --schema` matches them. ENCODINGS: one word for every
# version, or one per version; raw or envelope. Default: version 1 raw (what
# code wrote before it used rollsafe), later versions envelope (they name
# the flag that wrote them). Every problem stops with a message that names
# the file and what was looked for.
cmake_minimum_required(VERSION 3.18)

# Messages must not hold ';' (it would split them).
function(rs__codegen_fail)
  string(JOIN "" msg ${ARGN})
  message(FATAL_ERROR "rollsafe codegen: ${msg}")
endfunction()

function(rs__codegen_list out value)
  string(REPLACE "|" ";" value "${value}")
  set(${out} "${value}" PARENT_SCOPE)
endfunction()

foreach(var TYPE GEN_DIR VERSIONS)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    rs__codegen_fail("-D${var}=... is required (see the head of "
                     "${CMAKE_CURRENT_LIST_FILE})")
  endif()
endforeach()
if(NOT TYPE MATCHES "^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*$")
  rs__codegen_fail("TYPE '${TYPE}' is not a dotted protobuf name such as "
                   "payments.Payment")
endif()
rs__codegen_list(versions "${VERSIONS}")
rs__codegen_list(messages "${MESSAGES}")
rs__codegen_list(encodings "${ENCODINGS}")
list(LENGTH versions n)
list(LENGTH messages n_messages)
list(LENGTH encodings n_encodings)
if(n_messages GREATER 0 AND NOT n_messages EQUAL n)
  rs__codegen_fail("${n_messages} MESSAGES for ${n} VERSIONS: give one "
                   "message name per version, or none")
endif()
if(n_encodings GREATER 1 AND NOT n_encodings EQUAL n)
  rs__codegen_fail("${n_encodings} ENCODINGS for ${n} VERSIONS: give one for "
                   "every version, or one per version")
endif()
if(n GREATER 1000)
  rs__codegen_fail("${n} VERSIONS: a record type has at most 1000")
endif()

if(NOT DEFINED PREFIX OR PREFIX STREQUAL "")
  string(TOLOWER "${TYPE}" PREFIX)
  string(REPLACE "." "_" PREFIX "${PREFIX}")
endif()
if(NOT PREFIX MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
  rs__codegen_fail("PREFIX '${PREFIX}' is not a C identifier")
endif()
string(TOUPPER "${PREFIX}" UPPER)

# A full name without its version components (runtime.c's
# rs__unversioned_name): every component but the last that is v<digits>,
# optionally followed by letters and digits (v1beta1).
function(rs__unversioned out name)
  string(REPLACE "." ";" parts "${name}")
  list(LENGTH parts count)
  math(EXPR last "${count} - 1")
  set(kept)
  set(i 0)
  foreach(part ${parts})
    if(i EQUAL last OR NOT part MATCHES "^v[0-9]+[A-Za-z]*[0-9]*$")
      list(APPEND kept "${part}")
    endif()
    math(EXPR i "${i} + 1")
  endforeach()
  list(JOIN kept "." joined)
  set(${out} "${joined}" PARENT_SCOPE)
endfunction()

set(nl "\n")
set(ws "[ \t\r\n]*")
set(desc_re "const ProtobufCMessageDescriptor ([A-Za-z0-9_]+)__descriptor =${ws}{${ws}PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,${ws}\"([^\"]*)\",${ws}\"[^\"]*\",${ws}\"([A-Za-z0-9_]+)\"")

set(includes)
set(version_lines)
set(typedefs)
set(adds)
set(v 0)
foreach(file ${versions})
  math(EXPR v "${v} + 1")
  math(EXPR i "${v} - 1")
  if(IS_ABSOLUTE "${file}")
    rs__codegen_fail("VERSIONS names '${file}': give protoc-c's .pb-c.c "
                     "files relative to GEN_DIR (${GEN_DIR})")
  endif()
  if(NOT file MATCHES "\\.pb-c\\.c$")
    rs__codegen_fail("version ${v}: '${file}' is not protoc-c output "
                     "(a .pb-c.c file)")
  endif()
  set(path "${GEN_DIR}/${file}")
  if(NOT EXISTS "${path}")
    rs__codegen_fail("version ${v}: ${path} does not exist (run protoc-c "
                     "--c_out=${GEN_DIR} first)")
  endif()
  file(READ "${path}" text)
  string(REGEX MATCHALL "${desc_re}" found "${text}")
  if(n_messages GREATER 0)
    list(GET messages ${i} want)
  else()
    set(want "${TYPE}")
  endif()
  set(hits)
  set(names)
  foreach(d ${found})
    string(REGEX REPLACE "${desc_re}" "\\1|\\2|\\3" d "${d}")
    string(REPLACE "|" ";" d "${d}")
    list(GET d 0 c_name)
    list(GET d 1 full)
    list(GET d 2 c_type)
    list(APPEND names "${full}")
    if(n_messages GREATER 0)
      set(match 0)
      if(full STREQUAL want)
        set(match 1)
      endif()
    else()
      rs__unversioned(plain "${full}")
      set(match 0)
      if(full STREQUAL want OR plain STREQUAL want)
        set(match 1)
      endif()
    endif()
    if(match)
      list(APPEND hits "${c_name}|${full}|${c_type}")
    endif()
  endforeach()
  list(LENGTH hits n_hits)
  list(JOIN names ", " names)
  if(names STREQUAL "")
    set(names "none")
  endif()
  if(n_hits EQUAL 0 AND n_messages GREATER 0)
    rs__codegen_fail("version ${v}: ${file} has no message ${want} (MESSAGES "
                     "names full names), only ${names}")
  elseif(n_hits EQUAL 0)
    rs__codegen_fail("version ${v}: ${file} has no message ${want}, nor one "
                     "named so without version parts such as v1, only "
                     "${names}. Name it with MESSAGES")
  endif()
  if(n_hits GREATER 1)
    rs__codegen_fail("version ${v}: ${file} has several messages that match "
                     "${want}: ${names}. Name one with MESSAGES")
  endif()
  string(REPLACE "|" ";" hit "${hits}")
  list(GET hit 0 c_name)
  list(GET hit 1 full)
  list(GET hit 2 c_type)

  if(n_encodings EQUAL 0)
    if(v EQUAL 1)
      set(enc raw)
    else()
      set(enc envelope)
    endif()
  elseif(n_encodings EQUAL 1)
    list(GET encodings 0 enc)
  else()
    list(GET encodings ${i} enc)
  endif()
  if(enc STREQUAL "raw")
    set(enc_c RS_ENCODING_RAW)
  elseif(enc STREQUAL "envelope")
    set(enc_c RS_ENCODING_ENVELOPE)
  else()
    rs__codegen_fail("version ${v}: encoding '${enc}': expected raw or "
                     "envelope")
  endif()

  string(REGEX REPLACE "\\.c$" ".h" header "${file}")
  string(APPEND includes "#include \"${header}\"${nl}")
  string(APPEND version_lines " *   version ${v}: ${full} (${enc}), ${header}${nl}")
  string(APPEND typedefs "/** Version ${v}: ${full}. */${nl}typedef ${c_type} ${PREFIX}_v${v};${nl}")
  string(APPEND adds "  if (rc == 0)${nl}    rc = rs_registry_builder_add_version(${nl}        builder, ${UPPER}_TYPE, ${v}, &${c_name}__descriptor,${nl}        ${enc_c}, err);${nl}")
endforeach()

set(guard "${UPPER}_ROLLSAFE_H")
set(header_text "/*
 * ${PREFIX}_rollsafe.h: record type ${TYPE} for librollsafe.
 * Generated by rollsafe_codegen.cmake (rollsafe_add_record_type); do not
 * edit. Format versions, oldest first:
${version_lines} */
#ifndef ${guard}
#define ${guard}

#include <rollsafe/rollsafe.h>

${includes}
#ifdef __cplusplus
extern \"C\" {
#endif

/** The record type's name, as envelopes and the rollsafe CLI name it. */
#define ${UPPER}_TYPE \"${TYPE}\"
/** Its newest format version. */
#define ${UPPER}_NEWEST ${n}u

${typedefs}
/**
 * Declares versions 1..${n} of ${TYPE} in @p builder. Add converters, moved
 * fields and enum maps for the type after it.
 *
 * @return 0, RS_EEXISTS (the builder already has ${TYPE}), RS_EINVAL,
 *         RS_ENOMEM
 */
int ${PREFIX}_register(rs_registry_builder *builder, rs_error *err);

/**
 * Builds a registry holding ${TYPE} alone.
 *
 * @param[out] out owned by the caller; free with rs_registry_free()
 * @return 0, RS_ENOMEM
 */
int ${PREFIX}_registry(rs_registry **out, rs_error *err);

#ifdef __cplusplus
}
#endif
#endif
")

set(source_text "/*
 * ${PREFIX}_rollsafe.c: record type ${TYPE} for librollsafe.
 * Generated by rollsafe_codegen.cmake (rollsafe_add_record_type); do not
 * edit.
 */
#include \"${PREFIX}_rollsafe.h\"

int ${PREFIX}_register(rs_registry_builder *builder, rs_error *err) {
  int rc = 0;
${adds}  return rc;
}

int ${PREFIX}_registry(rs_registry **out, rs_error *err) {
  rs_registry_builder *builder = NULL;
  int rc = rs_registry_builder_new(&builder, NULL, err);
  if (rc != 0) return rc;
  rc = ${PREFIX}_register(builder, err);
  if (rc != 0) {
    rs_registry_builder_free(builder);
    return rc;
  }
  return rs_registry_build(out, builder, err);
}
")

foreach(kind h c)
  if(kind STREQUAL "h")
    file(WRITE "${GEN_DIR}/${PREFIX}_rollsafe.h" "${header_text}")
  else()
    file(WRITE "${GEN_DIR}/${PREFIX}_rollsafe.c" "${source_text}")
  endif()
endforeach()
