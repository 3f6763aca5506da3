# Fuzz targets for everything that parses bytes from production
# (tests/fuzz/fuzz_<name>.c, libFuzzer entry point LLVMFuzzerTestOneInput).
#
# Always: each target is also linked with tests/fuzz/replay_main.c, a plain
# main() that feeds it every file of its seed corpus tests/fuzz/corpus/<target>/
# once, built with the configured compiler (gcc too) and registered as the
# ctest case fuzz.replay.<target>. Inputs that crash the library before it is
# fixed live in tests/fuzz/crashes/<target>/, which is not replayed.
#
# With -DRS_FUZZ=ON and clang: the libFuzzer binaries themselves, built with
# -fsanitize=fuzzer,address,undefined against a copy of the library compiled
# with coverage instrumentation (build/tests/fuzz_<name>). Run one with
#   build/tests/fuzz_decode -max_total_time=300 NEW_DIR tests/fuzz/corpus/fuzz_decode
# (new inputs go to NEW_DIR; the first corpus directory is the one written).
# .ci/fuzz (called by .ci/test) builds them in build-fuzz/ and runs every
# target for RS_FUZZ_SECONDS seconds.
option(RS_FUZZ "Build the libFuzzer targets (needs clang)" OFF)

set(RS_FUZZ_DIR ${CMAKE_CURRENT_SOURCE_DIR}/fuzz)
set(RS_FUZZ_TARGETS fuzz_classify fuzz_compare fuzz_decode fuzz_descset
                    fuzz_diff fuzz_rawwriter fuzz_replacement fuzz_stream)
# Targets on schema pairs given at run time (tests/fuzz/fuzz_pairs.h).
set(RS_FUZZ_PAIR_TARGETS fuzz_compare fuzz_rawwriter)

# Their schemas: protoc compiles tests/fuzz/schemas/v1/*.proto (the readers'
# side) and v2/*.proto (the writers') into one FileDescriptorSet each, and
# embed_schemas.cmake turns both into a C file, so that a target loads them
# with rs_schema_from_bytes() wherever it runs.
find_program(RS_FUZZ_PROTOC protoc REQUIRED)
set(rs_fuzz_gen ${CMAKE_CURRENT_BINARY_DIR}/fuzz-schemas)
set(rs_fuzz_descs)
foreach(side v1 v2)
  file(GLOB rs_fuzz_protos_${side} CONFIGURE_DEPENDS
       ${RS_FUZZ_DIR}/schemas/${side}/*.proto)
  add_custom_command(
    OUTPUT ${rs_fuzz_gen}/${side}.desc
    COMMAND ${CMAKE_COMMAND} -E make_directory ${rs_fuzz_gen}
    COMMAND ${RS_FUZZ_PROTOC} --include_imports
            -I${RS_FUZZ_DIR}/schemas/${side}
            --descriptor_set_out=${rs_fuzz_gen}/${side}.desc
            ${rs_fuzz_protos_${side}}
    DEPENDS ${rs_fuzz_protos_${side}}
    COMMENT "protoc tests/fuzz/schemas/${side}"
    VERBATIM)
  list(APPEND rs_fuzz_descs ${rs_fuzz_gen}/${side}.desc)
endforeach()
add_custom_command(
  OUTPUT ${rs_fuzz_gen}/fuzz_schemas.c
  COMMAND ${CMAKE_COMMAND} -DV1=${rs_fuzz_gen}/v1.desc
          -DV2=${rs_fuzz_gen}/v2.desc -DOUT=${rs_fuzz_gen}/fuzz_schemas.c
          -P ${RS_FUZZ_DIR}/embed_schemas.cmake
  DEPENDS ${rs_fuzz_descs} ${RS_FUZZ_DIR}/embed_schemas.cmake
  COMMENT "embed the fuzz schemas"
  VERBATIM)
add_library(rs_fuzz_schemas STATIC ${rs_fuzz_gen}/fuzz_schemas.c)

foreach(target ${RS_FUZZ_TARGETS})
  add_executable(${target}_replay ${RS_FUZZ_DIR}/${target}.c
                                  ${RS_FUZZ_DIR}/replay_main.c)
  target_link_libraries(${target}_replay PRIVATE rollsafe_example rollsafe_static)
  target_include_directories(${target}_replay PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(${target}_replay PRIVATE ${RS_WARNINGS})
  add_test(NAME fuzz.replay.${target}
           COMMAND ${target}_replay ${RS_FUZZ_DIR}/corpus/${target})
  set_tests_properties(fuzz.replay.${target} PROPERTIES LABELS fuzz)
endforeach()
# The stream-file reader and writer (src/store/stream.c) are in the store
# library, which the CLI links; so does their target.
target_link_libraries(fuzz_stream_replay PRIVATE rollsafe_store)
foreach(target ${RS_FUZZ_PAIR_TARGETS})
  target_link_libraries(${target}_replay PRIVATE rs_fuzz_schemas)
endforeach()

if(RS_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(WARNING "RS_FUZZ needs clang (libFuzzer); the compiler is "
                    "${CMAKE_C_COMPILER_ID}: fuzz targets not built. "
                    "Configure with CC=clang.")
  else()
    set(rs_fuzz_flags -fsanitize=fuzzer,address,undefined
                      -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
    # The library again, with coverage instrumentation but no libFuzzer main,
    # so the fuzzer is guided by the library's branches too.
    # The example domain (rollsafe_example) comes along: the targets read
    # shop.Order.
    get_target_property(rs_lib_sources rollsafe_objects SOURCES)
    get_target_property(rs_lib_includes rollsafe_objects INCLUDE_DIRECTORIES)
    get_target_property(rs_example_sources rollsafe_example SOURCES)
    get_target_property(rs_example_includes rollsafe_example
                        INTERFACE_INCLUDE_DIRECTORIES)
    set(rs_fuzz_lib_sources)
    foreach(src ${rs_lib_sources})
      if(NOT IS_ABSOLUTE ${src})
        set(src ${PROJECT_SOURCE_DIR}/src/${src})
      endif()
      list(APPEND rs_fuzz_lib_sources ${src})
    endforeach()
    foreach(src ${rs_example_sources})
      if(NOT IS_ABSOLUTE ${src})
        set(src ${PROJECT_SOURCE_DIR}/src/shop/${src})
      endif()
      list(APPEND rs_fuzz_lib_sources ${src})
    endforeach()
    # protoc-c's own includes of the example ("shop/v1/...") too.
    list(APPEND rs_lib_includes ${rs_example_includes} ${RS_EXAMPLE_GEN_OUT})
    # protoc-c's output is generated by src/; make it known here.
    set_source_files_properties(${RS_GEN_SOURCES} ${RS_GEN_HEADERS}
      PROPERTIES GENERATED TRUE)
    foreach(src ${rs_fuzz_lib_sources})
      if(src MATCHES "\\.pb-c\\.c$")
        set_source_files_properties(${src} PROPERTIES GENERATED TRUE)
      endif()
    endforeach()
    add_library(rs_fuzz_lib STATIC ${rs_fuzz_lib_sources})
    # rollsafe_objects and rollsafe_example generate the pb-c sources.
    add_dependencies(rs_fuzz_lib rollsafe_objects rollsafe_example)
    target_include_directories(rs_fuzz_lib PUBLIC ${rs_lib_includes})
    target_compile_definitions(rs_fuzz_lib PUBLIC RS_STATIC_DEFINE)
    target_compile_options(rs_fuzz_lib PRIVATE
      -fsanitize=fuzzer-no-link,address,undefined
      -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
    target_link_libraries(rs_fuzz_lib PUBLIC PkgConfig::PROTOBUFC)

    # The store library again, instrumented the same way, for fuzz_stream.
    get_target_property(rs_store_sources rollsafe_store SOURCES)
    list(TRANSFORM rs_store_sources PREPEND ${PROJECT_SOURCE_DIR}/src/store/)
    pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
    pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
    find_package(Threads REQUIRED)
    add_library(rs_fuzz_store STATIC ${rs_store_sources})
    target_include_directories(rs_fuzz_store PUBLIC ${PROJECT_SOURCE_DIR}/src)
    target_compile_options(rs_fuzz_store PRIVATE
      -fsanitize=fuzzer-no-link,address,undefined
      -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
    if(NOT TARGET PkgConfig::RDKAFKA)
      pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)
    endif()
    target_link_libraries(rs_fuzz_store PUBLIC PkgConfig::SQLITE3
      PkgConfig::LIBPQ PkgConfig::RDKAFKA Threads::Threads)

    foreach(target ${RS_FUZZ_TARGETS})
      add_executable(${target} ${RS_FUZZ_DIR}/${target}.c)
      target_link_libraries(${target} PRIVATE rs_fuzz_lib)
      target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/src)
      target_compile_options(${target} PRIVATE ${RS_WARNINGS} ${rs_fuzz_flags})
      target_link_options(${target} PRIVATE ${rs_fuzz_flags})
    endforeach()
    target_link_libraries(fuzz_stream PRIVATE rs_fuzz_store)
    foreach(target ${RS_FUZZ_PAIR_TARGETS})
      target_link_libraries(${target} PRIVATE rs_fuzz_schemas)
    endforeach()
  endif()
endif()
