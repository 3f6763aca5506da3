# rollsafe_add_record_type(): a service's own record type, from its .proto
# files to the code that registers it. Included by rollsafeConfig.cmake, so
# find_package(rollsafe) provides it:
#
#   find_package(rollsafe REQUIRED)
#   add_executable(my_service main.c)
#   target_link_libraries(my_service PRIVATE rollsafe::rollsafe)
#   rollsafe_add_record_type(TARGET my_service TYPE payments.Payment
#     VERSIONS proto/payments/v1/payment.proto proto/payments/v2/payment.proto)
#
# and in main.c:
#
#   #include "payments_payment_rollsafe.h"
#   payments_payment_registry(&registry, &err);          /* or _register() */
#   rs_read_as(&rec, registry, PAYMENTS_PAYMENT_TYPE, 1, bytes, len, NULL, &err);
#   const payments_payment_v1 *p = (const payments_payment_v1 *)rs_record_message(rec);
#
# Arguments:
#   TARGET      the target whose sources get the generated code
#   TYPE        the record type, e.g. payments.Payment
#   VERSIONS    one .proto file per format version, oldest first (relative
#               to the current source directory, or absolute)
#   MESSAGES    optional, one per version: the message's full name, when it
#               is not TYPE with or without version components (v1, v2...)
#   ENCODINGS   optional: raw or envelope, once for every version or once
#               per version (default: version 1 raw, later ones envelope)
#   PROTO_PATH  optional extra import directories for protoc-c
#   PREFIX      optional C prefix of the generated names (default: TYPE in
#               lower case with '_' for '.', e.g. payments_payment)
#
# protoc-c compiles each file from its import root: the file's directory
# minus the package's path when it ends so (proto/ for
# proto/payments/v1/payment.proto in package payments.v1), else the file's
# own directory. Its headers are included as "payments/v1/payment.pb-c.h";
# the registration code is PREFIX_rollsafe.h and PREFIX_rollsafe.c
# (rollsafe_codegen.cmake says what they declare). Everything is generated
# at build time in CMAKE_CURRENT_BINARY_DIR/rollsafe_gen/TARGET, which is
# added to TARGET's include directories. Files imported by the versions must
# be generated and compiled by the caller.
include_guard(GLOBAL)

set_property(GLOBAL PROPERTY ROLLSAFE_CODEGEN_SCRIPT
  "${CMAKE_CURRENT_LIST_DIR}/rollsafe_codegen.cmake")
if(NOT ROLLSAFE_PROTOC_C)
  find_program(ROLLSAFE_PROTOC_C NAMES protoc-c protoc-gen-c
    DOC "protoc-c, which rollsafe_add_record_type() runs")
endif()

function(rollsafe_add_record_type)
  cmake_parse_arguments(ARG "" "TARGET;TYPE;PREFIX"
                        "VERSIONS;MESSAGES;ENCODINGS;PROTO_PATH" ${ARGN})
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "rollsafe_add_record_type: unexpected arguments: "
                        "${ARG_UNPARSED_ARGUMENTS}")
  endif()
  foreach(req TARGET TYPE VERSIONS)
    if(NOT ARG_${req})
      message(FATAL_ERROR "rollsafe_add_record_type: ${req} is required")
    endif()
  endforeach()
  if(NOT TARGET ${ARG_TARGET})
    message(FATAL_ERROR "rollsafe_add_record_type: no target ${ARG_TARGET} "
                        "(create it before adding record types to it)")
  endif()
  if(NOT ROLLSAFE_PROTOC_C)
    message(FATAL_ERROR "rollsafe_add_record_type: protoc-c not found "
                        "(Debian: protobuf-c-compiler); set ROLLSAFE_PROTOC_C")
  endif()
  get_property(script GLOBAL PROPERTY ROLLSAFE_CODEGEN_SCRIPT)
  set(prefix ${ARG_PREFIX})
  if(NOT prefix)
    string(TOLOWER "${ARG_TYPE}" prefix)
    string(REPLACE "." "_" prefix "${prefix}")
  endif()

  set(gen ${CMAKE_CURRENT_BINARY_DIR}/rollsafe_gen/${ARG_TARGET})
  set(extra_includes)
  foreach(dir ${ARG_PROTO_PATH})
    get_filename_component(dir "${dir}" ABSOLUTE
                           BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    list(APPEND extra_includes "-I${dir}")
  endforeach()

  get_target_property(done ${ARG_TARGET} ROLLSAFE_GENERATED_PROTOS)
  if(NOT done)
    set(done)
  endif()
  set(pb_sources)
  set(pb_relative)
  set(rels)
  foreach(proto ${ARG_VERSIONS})
    get_filename_component(proto "${proto}" ABSOLUTE
                           BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    if(NOT EXISTS "${proto}")
      message(FATAL_ERROR "rollsafe_add_record_type(${ARG_TYPE}): ${proto} "
                          "does not exist")
    endif()
    get_filename_component(dir "${proto}" DIRECTORY)
    set(root "${dir}")
    file(STRINGS "${proto}" pkg REGEX "^[ \t]*package[ \t]+[A-Za-z0-9_.]+[ \t]*;")
    if(pkg)
      list(GET pkg 0 pkg)
      string(REGEX REPLACE "^[ \t]*package[ \t]+([A-Za-z0-9_.]+).*" "\\1"
             pkg "${pkg}")
      string(REPLACE "." "/" pkg_path "${pkg}")
      string(LENGTH "${dir}" dir_len)
      string(LENGTH "/${pkg_path}" pkg_len)
      if(dir_len GREATER pkg_len)
        math(EXPR cut "${dir_len} - ${pkg_len}")
        string(SUBSTRING "${dir}" ${cut} -1 tail)
        if(tail STREQUAL "/${pkg_path}")
          string(SUBSTRING "${dir}" 0 ${cut} root)
        endif()
      endif()
    endif()
    file(RELATIVE_PATH rel "${root}" "${proto}")
    string(REGEX REPLACE "\\.proto$" "" stem "${rel}")
    if("${stem}" IN_LIST rels)
      message(FATAL_ERROR "rollsafe_add_record_type(${ARG_TYPE}): two "
                          "versions are both ${rel} under their import roots; "
                          "put each version in a directory of its own "
                          "(proto/payments/v1/, proto/payments/v2/)")
    endif()
    list(APPEND rels "${stem}")
    set(c ${gen}/${stem}.pb-c.c)
    set(h ${gen}/${stem}.pb-c.h)
    # Another record type of this target may come from the same file.
    if(NOT "${proto}" IN_LIST done)
      add_custom_command(
        OUTPUT ${c} ${h}
        COMMAND ${CMAKE_COMMAND} -E make_directory ${gen}
        COMMAND ${ROLLSAFE_PROTOC_C} --c_out=${gen} -I${root}
                ${extra_includes} ${proto}
        DEPENDS ${proto}
        COMMENT "protoc-c ${rel} (${ARG_TYPE})"
        VERBATIM)
      list(APPEND done "${proto}")
      target_sources(${ARG_TARGET} PRIVATE ${c} ${h})
    endif()
    list(APPEND pb_sources ${c})
    list(APPEND pb_relative ${stem}.pb-c.c)
  endforeach()
  set_property(TARGET ${ARG_TARGET} PROPERTY ROLLSAFE_GENERATED_PROTOS "${done}")

  # '|' separates list items on the script's command line: a ';' would
  # split the argument.
  string(REPLACE ";" "|" versions_arg "${pb_relative}")
  string(REPLACE ";" "|" messages_arg "${ARG_MESSAGES}")
  string(REPLACE ";" "|" encodings_arg "${ARG_ENCODINGS}")
  set(out_c ${gen}/${prefix}_rollsafe.c)
  set(out_h ${gen}/${prefix}_rollsafe.h)
  add_custom_command(
    OUTPUT ${out_c} ${out_h}
    COMMAND ${CMAKE_COMMAND} -DTYPE=${ARG_TYPE} -DGEN_DIR=${gen}
            -DPREFIX=${prefix} -DVERSIONS=${versions_arg}
            -DMESSAGES=${messages_arg} -DENCODINGS=${encodings_arg}
            -P ${script}
    DEPENDS ${pb_sources} ${script}
    COMMENT "rollsafe registration code for ${ARG_TYPE}"
    VERBATIM)
  target_sources(${ARG_TARGET} PRIVATE ${out_c} ${out_h})
  target_include_directories(${ARG_TARGET} PUBLIC $<BUILD_INTERFACE:${gen}>)
endfunction()
