# Install rules: the library (shared and static) with a CMake package and a
# pkg-config file, the public headers, the record-type code generator
# (rollsafe_add_record_type(), rollsafe_codegen.cmake), and the CLI with its
# man pages and bash completion when it is built. Components: runtime (the
# shared library), development (headers, archive, CMake package, .pc,
# generator), cli (the tool, man pages, completion, report schemas).
#
# Consumers use either
#   find_package(rollsafe REQUIRED)
#   target_link_libraries(app PRIVATE rollsafe::rollsafe)   # or rollsafe::rollsafe_static
#   rollsafe_add_record_type(TARGET app TYPE my.Type VERSIONS v1.proto v2.proto)
# or
#   cc app.c $(pkg-config --cflags --libs rollsafe)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(RS_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/rollsafe)

# ---- libraries ------------------------------------------------------------
# The archive installed is rollsafe_static_dist (src/CMakeLists.txt: its
# internal symbols are local), exported as rollsafe::rollsafe_static.
install(TARGETS rollsafe rollsafe_static_dist
  EXPORT rollsafeTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    COMPONENT runtime NAMELINK_COMPONENT development
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)

# ---- headers --------------------------------------------------------------
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/rollsafe
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  COMPONENT development
  FILES_MATCHING PATTERN "*.h")

# No generated header is installed: the envelope's is read and written only
# inside the library, and the example domain (src/shop) is not part of it.

# ---- CMake package --------------------------------------------------------
install(EXPORT rollsafeTargets
  NAMESPACE rollsafe::
  DESTINATION ${RS_INSTALL_CMAKEDIR}
  COMPONENT development)

configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/rollsafeConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/rollsafeConfig.cmake
  INSTALL_DESTINATION ${RS_INSTALL_CMAKEDIR})
write_basic_package_version_file(
  ${CMAKE_CURRENT_BINARY_DIR}/rollsafeConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/rollsafeConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/rollsafeConfigVersion.cmake
  ${CMAKE_CURRENT_LIST_DIR}/rollsafeRecordType.cmake
  ${CMAKE_CURRENT_LIST_DIR}/rollsafe_codegen.cmake
  DESTINATION ${RS_INSTALL_CMAKEDIR}
  COMPONENT development)

# ---- pkg-config -----------------------------------------------------------
# rollsafe.pc is written at install time, not at configure time, so that it
# names the prefix actually installed to (`cmake --install . --prefix P`
# overrides CMAKE_INSTALL_PREFIX only then). DESTDIR is not part of it.
set(RS_PC_FILE ${CMAKE_CURRENT_BINARY_DIR}/pkgconfig/rollsafe.pc)
install(CODE "
  set(RS_PC_TEMPLATE [[${CMAKE_CURRENT_LIST_DIR}/rollsafe.pc.in]])
  set(RS_PC_FILE [[${RS_PC_FILE}]])
  set(RS_PC_VERSION [[${PROJECT_VERSION}]])
  set(RS_PC_DESCRIPTION [[${PROJECT_DESCRIPTION}]])
  set(RS_PC_LIBDIR [[${CMAKE_INSTALL_LIBDIR}]])
  set(RS_PC_INCLUDEDIR [[${CMAKE_INSTALL_INCLUDEDIR}]])
  set(RS_PC_CMAKEDIR [[${RS_INSTALL_CMAKEDIR}]])
  include([[${CMAKE_CURRENT_LIST_DIR}/write_pc.cmake]])
" COMPONENT development)
install(FILES ${RS_PC_FILE}
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
  COMPONENT development)

# ---- CLI ------------------------------------------------------------------
if(TARGET rollsafe_cli)
  # An installed CLI that links the shared library finds it relative to
  # itself, so a tree installed under any prefix runs without
  # LD_LIBRARY_PATH.
  get_target_property(RS_CLI_LIBS rollsafe_cli LINK_LIBRARIES)
  if("rollsafe" IN_LIST RS_CLI_LIBS OR "rollsafe::rollsafe" IN_LIST RS_CLI_LIBS)
    file(RELATIVE_PATH RS_BIN_TO_LIB
      ${CMAKE_INSTALL_FULL_BINDIR} ${CMAKE_INSTALL_FULL_LIBDIR})
    set_target_properties(rollsafe_cli PROPERTIES
      INSTALL_RPATH "$ORIGIN/${RS_BIN_TO_LIB}")
  endif()
  install(TARGETS rollsafe_cli
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
    COMPONENT cli)
  # The JSON Schemas of the tool's reports (docs/reports.md), for consumers
  # that validate what they read: share/rollsafe/schema/json/<command>.schema.json.
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/schema/json/
    DESTINATION ${CMAKE_INSTALL_DATADIR}/rollsafe/schema/json
    COMPONENT cli
    FILES_MATCHING PATTERN "*.schema.json")
endif()
