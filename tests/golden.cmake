# Golden fixtures (tests/fixtures/golden/README.md).
#
# unit.check_golden (tests/unit/check_golden.c, found by the glob in
# tests/CMakeLists.txt) checks the codec against the committed fixtures;
# golden.reproducible checks that those fixtures are exactly what the second
# implementation, generate.py with Debian's Python protobuf, writes. Without
# python3-protobuf it fails with a message saying so, never passes silently.
set(RS_GOLDEN_PYTHON /usr/bin/python3 CACHE FILEPATH
    "Python with google.protobuf (Debian python3-protobuf) for golden.reproducible")

add_test(NAME golden.reproducible
  COMMAND ${CMAKE_COMMAND}
    -DPYTHON=${RS_GOLDEN_PYTHON}
    -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
    -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/golden-reproducible
    -P ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/golden/reproduce.cmake)
set_tests_properties(golden.reproducible PROPERTIES LABELS golden)
if(TEST unit.check_golden)
  set_tests_properties(unit.check_golden PROPERTIES LABELS golden)
endif()
