# The differential verdict corpus (tests/differential/): cases.py holds one
# line per case; gen.py turns it, at build time, into .proto files, Python
# classes (protoc --python_out) and one C reader of every case's version-1
# schema (protoc-c --c_out, linked with libprotobuf-c only). Each group of
# cases is one ctest case, differential.<group>: test_differential.py
# writes the records with Python's protobuf and checks rollsafe's verdicts,
# scans and fixes against what those readers make of the bytes, and
# rs_read_as() (readas.c) against the protobuf-c reader.
option(RS_DIFFERENTIAL "Build and register the differential corpus" ON)
# The group `random` (random_cases.py): its cases follow from a seed.
set(RS_DC_RANDOM_SEED 1 CACHE STRING
    "Seed of the differential corpus's random cases")
set(RS_DC_RANDOM_CASES 24 CACHE STRING
    "How many random cases the differential corpus makes")
if(TARGET rollsafe_cli AND RS_DIFFERENTIAL)
  set(dc_random RS_DC_RANDOM=${RS_DC_RANDOM_SEED}:${RS_DC_RANDOM_CASES})
  set(dc_src ${CMAKE_CURRENT_SOURCE_DIR}/differential)
  set(dc_gen ${CMAKE_CURRENT_BINARY_DIR}/differential-gen)
  find_program(RS_DC_PROTOC protoc REQUIRED)
  find_program(RS_DC_PROTOC_C protoc-c REQUIRED)
  set(python /usr/bin/python3)

  add_custom_command(
    OUTPUT ${dc_gen}/dc_readers.c
    COMMAND ${CMAKE_COMMAND} -E env ${dc_random}
            ${python} ${dc_src}/gen.py --out ${dc_gen}
            --protoc ${RS_DC_PROTOC} --protoc-c ${RS_DC_PROTOC_C}
    # gen.py leaves unchanged files alone; the output must still be newer
    # than cases.py, or make runs this again on every build.
    COMMAND ${CMAKE_COMMAND} -E touch ${dc_gen}/dc_readers.c
    DEPENDS ${dc_src}/gen.py ${dc_src}/cases.py ${dc_src}/random_cases.py
    COMMENT "Differential corpus: .proto files, Python classes, protoc-c readers"
    VERBATIM)

  # Generated code is compiled without our warnings; reader.c with them.
  add_library(rs_dc_generated OBJECT ${dc_gen}/dc_readers.c)
  target_include_directories(rs_dc_generated PRIVATE ${dc_src} ${dc_gen}/c)
  target_link_libraries(rs_dc_generated PRIVATE PkgConfig::PROTOBUFC)

  add_executable(rs_dc_reader ${dc_src}/reader.c ${dc_src}/print.c
                 $<TARGET_OBJECTS:rs_dc_generated>)
  target_include_directories(rs_dc_reader PRIVATE ${dc_src})
  target_compile_options(rs_dc_reader PRIVATE ${RS_WARNINGS})
  target_link_libraries(rs_dc_reader PRIVATE PkgConfig::PROTOBUFC)

  # rollsafe's own reader of the same records: rs_read_as() from a registry
  # of the reader's schema alone, printed as rs_dc_reader prints.
  add_executable(rs_dc_readas ${dc_src}/readas.c ${dc_src}/print.c)
  target_include_directories(rs_dc_readas PRIVATE ${dc_src})
  target_compile_options(rs_dc_readas PRIVATE ${RS_WARNINGS})
  target_link_libraries(rs_dc_readas PRIVATE rollsafe_static)

  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
               ${dc_src}/cases.py ${dc_src}/random_cases.py)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env ${dc_random}
                  ${python} ${dc_src}/cases.py --groups
                  OUTPUT_VARIABLE dc_groups RESULT_VARIABLE dc_rc)
  if(NOT dc_rc EQUAL 0)
    message(FATAL_ERROR "tests/differential/cases.py --groups failed")
  endif()
  foreach(group ${dc_groups})
    add_test(NAME differential.${group}
      COMMAND ${CMAKE_COMMAND} -E env ${dc_random}
              ${python} ${dc_src}/test_differential.py
              --rollsafe $<TARGET_FILE:rollsafe_cli>
              --reader $<TARGET_FILE:rs_dc_reader>
              --readas $<TARGET_FILE:rs_dc_readas>
              --gen ${dc_gen}
              --work ${CMAKE_CURRENT_BINARY_DIR}/differential-work/${group}
              ${group})
    set_tests_properties(differential.${group} PROPERTIES
      LABELS differential TIMEOUT 300)
  endforeach()
endif()

# The runtime table (docs/runtimes.md): one ctest case per runtime,
# differential.runtime.<runtime>, reads every cell's record with that
# runtime's generated version-1 code and fails when a cell says otherwise.
# test_runtimes.py builds the C++, Java and Go readers in the work folder
# from the Debian packages (.ci/packages.sh), again only when their sources
# or the table's cases change; a runtime that is not installed fails.
if(TARGET rs_dc_reader)
  foreach(runtime protobuf-c cpp java go python)
    add_test(NAME differential.runtime.${runtime}
      COMMAND ${CMAKE_COMMAND} -E env ${dc_random}
              ${python} ${dc_src}/test_runtimes.py
              --runtime ${runtime}
              --gen ${dc_gen}
              --work ${CMAKE_CURRENT_BINARY_DIR}/runtimes-work
              --pbc-reader $<TARGET_FILE:rs_dc_reader>
              --table ${PROJECT_SOURCE_DIR}/docs/runtimes.md
              --rollsafe $<TARGET_FILE:rollsafe_cli>)
    set_tests_properties(differential.runtime.${runtime} PROPERTIES
      LABELS "differential;runtimes" TIMEOUT 600)
  endforeach()
endif()
