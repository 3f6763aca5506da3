# CLI tests: tests/cli/test_cli.py runs the built `rollsafe` binary on
# records that protoc encodes from tests/cli/records/, and checks exit codes,
# messages and the JSON documents. Each test_<case> function in the script is
# one ctest case, cli.<case>; run them with `ctest -R cli` or `-L cli`.
if(TARGET rollsafe_cli)
  find_package(Python3 COMPONENTS Interpreter REQUIRED)
  find_program(RS_PROTOC protoc)
  if(NOT RS_PROTOC)
    message(WARNING "protoc not found: the CLI tests on records will be skipped")
    set(RS_PROTOC "")
  endif()

  # rs_render_test: the generic JSON renderer on messages of every field
  # kind (tests/cli/render/*.proto), compiled here by protoc-c.
  set(rs_render_dir ${CMAKE_CURRENT_SOURCE_DIR}/cli/render)
  set(rs_render_gen ${CMAKE_CURRENT_BINARY_DIR}/cli-render-gen)
  set(rs_render_sources)
  foreach(stem render_test render_test3)
    add_custom_command(
      OUTPUT ${rs_render_gen}/${stem}.pb-c.c ${rs_render_gen}/${stem}.pb-c.h
      COMMAND ${CMAKE_COMMAND} -E make_directory ${rs_render_gen}
      COMMAND ${PROTOC_C} --c_out=${rs_render_gen} -I${rs_render_dir}
              ${rs_render_dir}/${stem}.proto
      DEPENDS ${rs_render_dir}/${stem}.proto
      COMMENT "protoc-c tests/cli/render/${stem}.proto"
      VERBATIM)
    list(APPEND rs_render_sources ${rs_render_gen}/${stem}.pb-c.c)
  endforeach()
  add_executable(rs_render_test ${rs_render_dir}/render_main.c ${rs_render_sources})
  target_include_directories(rs_render_test PRIVATE ${rs_render_gen})
  target_link_libraries(rs_render_test PRIVATE rollsafe_report PkgConfig::PROTOBUFC)
  set_source_files_properties(${rs_render_dir}/render_main.c PROPERTIES
    COMPILE_OPTIONS "${RS_WARNINGS}")

  set(RS_CLI_TEST_SCRIPT ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_cli.py)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${RS_CLI_TEST_SCRIPT})
  file(STRINGS ${RS_CLI_TEST_SCRIPT} rs_cli_defs REGEX "^def test_[a-z0-9_]+\\(")
  foreach(def ${rs_cli_defs})
    string(REGEX REPLACE "^def test_([a-z0-9_]+)\\(.*" "\\1" case "${def}")
    add_test(NAME cli.${case}
      COMMAND ${Python3_EXECUTABLE} ${RS_CLI_TEST_SCRIPT}
              --rollsafe $<TARGET_FILE:rollsafe_cli>
              --render $<TARGET_FILE:rs_render_test>
              --protoc "${RS_PROTOC}"
              --schema ${PROJECT_SOURCE_DIR}/schema
              --work ${CMAKE_CURRENT_BINARY_DIR}/cli-work
              ${case})
    set_tests_properties(cli.${case} PROPERTIES
      LABELS cli
      TIMEOUT 120)
  endforeach()
endif()
