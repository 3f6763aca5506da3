# Packaging tests: the installed library is usable by a consumer (CMake
# package and pkg-config), and the public umbrella header compiles alone.

# A consumer of a sanitized build must link the sanitizer runtimes too, or
# the link fails: hand it the link options the main build was given (the
# top-level add_link_options(), i.e. the -fsanitize flags under RS_SANITIZE).
get_directory_property(RS_CONSUMER_FLAGS DIRECTORY ${PROJECT_SOURCE_DIR}
  LINK_OPTIONS)
list(JOIN RS_CONSUMER_FLAGS " " RS_CONSUMER_FLAGS)

add_test(NAME install.example_service
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install/test_example_service.sh
    ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR}/examples/service
    ${CMAKE_C_COMPILER} "${RS_CONSUMER_FLAGS}")
# The tests that install from the build tree (cmake --install, cpack; also
# runtime.plugin_standalone) write its install_manifest.txt: one at a time.
set_tests_properties(install.example_service PROPERTIES
  LABELS install TIMEOUT 600 RESOURCE_LOCK rs_build_tree_install)

# The .deb: built by cpack, installed into a scratch root, run from there
# (tool, man pages, completion, library, examples/service).
if(TARGET rollsafe_cli AND TARGET rollsafe_docs)
  add_test(NAME install.deb
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install/test_deb.sh
      ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR} ${CMAKE_C_COMPILER}
      "${RS_CONSUMER_FLAGS}")
  set_tests_properties(install.deb PROPERTIES LABELS install TIMEOUT 900
    RESOURCE_LOCK rs_build_tree_install)
endif()

# librollsafe.so exports rs_ names only; libprotobuf-c is the control.
find_library(RS_PROTOBUFC_SO NAMES protobuf-c HINTS ${PROTOBUFC_LIBRARY_DIRS}
  REQUIRED)
add_test(NAME install.symbols
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install/test_symbols.sh
    $<TARGET_FILE:rollsafe> ${RS_PROTOBUFC_SO})
set_tests_properties(install.symbols PROPERTIES LABELS install)
# The archive installed defines rs_ names only; the tests' own archive,
# which keeps the internals, is its control.
add_test(NAME install.symbols_static
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install/test_symbols.sh
    $<TARGET_FILE:rollsafe_static_dist> $<TARGET_FILE:rollsafe_static>)
set_tests_properties(install.symbols_static PROPERTIES LABELS install)

# rollsafe_codegen.cmake refuses what it cannot generate from, saying why.
add_test(NAME install.codegen_errors
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install/test_codegen.sh
    ${PROJECT_SOURCE_DIR}/cmake/rollsafe_codegen.cmake ${PROTOC_C}
    ${PROJECT_SOURCE_DIR}/examples/service/proto)
set_tests_properties(install.codegen_errors PROPERTIES LABELS install)

# gcc always (the configured compiler if that is gcc), clang when present.
set(RS_HEADER_COMPILERS)
if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
  list(APPEND RS_HEADER_COMPILERS ${CMAKE_C_COMPILER})
else()
  find_program(RS_GCC NAMES gcc)
  if(RS_GCC)
    list(APPEND RS_HEADER_COMPILERS ${RS_GCC})
  endif()
endif()
find_program(RS_CLANG NAMES clang)
if(RS_CLANG)
  list(APPEND RS_HEADER_COMPILERS ${RS_CLANG})
endif()
list(JOIN RS_HEADER_COMPILERS " " RS_HEADER_COMPILERS)
list(JOIN PROTOBUFC_CFLAGS " " RS_PROTOBUFC_CFLAGS)

add_test(NAME header.standalone
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install/test_header.sh
    ${PROJECT_SOURCE_DIR}/include "${RS_HEADER_COMPILERS}"
    "${RS_PROTOBUFC_CFLAGS}")
set_tests_properties(header.standalone PROPERTIES LABELS install)
