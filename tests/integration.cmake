# Integration tests: tests/integration/test_<target kind>.py run the built
# `rollsafe` on real databases. Each test_<case> function of a script is one
# ctest case, <script>.<case> (e.g. scan_sqlite.known_mix_envelope_reader).
if(TARGET rollsafe_cli)
  rs_add_script_tests(DIR ${CMAKE_CURRENT_SOURCE_DIR}/integration
                      LABEL integration)
endif()
