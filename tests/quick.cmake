# The quick walk's differential tests (tests/unit/check_quick.c) use two
# test-only schemas with every scalar type, packed fields, a oneof and
# required fields; protoc-c compiles them into the build tree.
set(rs_quick_out ${CMAKE_CURRENT_BINARY_DIR}/quick_gen)
set(rs_quick_sources)
foreach(stem quick_types quick_types3)
  set(proto ${CMAKE_CURRENT_SOURCE_DIR}/unit/quick/${stem}.proto)
  add_custom_command(
    OUTPUT ${rs_quick_out}/${stem}.pb-c.c ${rs_quick_out}/${stem}.pb-c.h
    COMMAND ${CMAKE_COMMAND} -E make_directory ${rs_quick_out}
    COMMAND ${PROTOC_C} --c_out=${rs_quick_out}
            -I${CMAKE_CURRENT_SOURCE_DIR}/unit/quick ${proto}
    DEPENDS ${proto}
    COMMENT "protoc-c ${stem}.proto (test schema)"
    VERBATIM)
  list(APPEND rs_quick_sources ${rs_quick_out}/${stem}.pb-c.c)
endforeach()
target_sources(check_quick PRIVATE ${rs_quick_sources})
target_include_directories(check_quick PRIVATE ${rs_quick_out})
# The same schemas, and one with maps and proto3 optional fields, loaded
# at run time: the walk on descriptors rs_schema builds.
target_compile_definitions(check_quick PRIVATE
  RS_QUICK_PROTO_DIR="${CMAKE_CURRENT_SOURCE_DIR}/unit/quick")
