# Column encodings (src/verify/colenc.c): base64 and hex values of a
# column, every variant, invalid values with their offsets.
add_executable(check_colenc ${CMAKE_CURRENT_SOURCE_DIR}/colenc/check_colenc.c)
target_link_libraries(check_colenc PRIVATE rollsafe_colenc PkgConfig::CHECK)
target_compile_options(check_colenc PRIVATE ${RS_WARNINGS})
add_test(NAME unit.check_colenc COMMAND check_colenc)
set_tests_properties(unit.check_colenc PROPERTIES ENVIRONMENT "CK_FORK=no")
