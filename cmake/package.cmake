# Packaging: `cpack -G DEB` in the build tree makes rollsafe_VERSION_ARCH.deb,
# one package with everything `cmake --install` installs: the tool with its
# man pages and bash completion, librollsafe (shared and static), the
# headers, the CMake package with rollsafe_add_record_type(), and
# rollsafe.pc. Installed under /usr. The package's library dependencies are
# read from the binaries (dpkg-shlibdeps); what compiling a service against
# it or reading .proto schemas takes is recommended. tests/install: the
# package test (install.deb) builds it, installs it into a scratch root and
# runs the tool and examples/service from there.
set(RS_PACKAGE_MAINTAINER "rollsafe maintainers <rollsafe@localhost>"
    CACHE STRING "Maintainer field of the .deb")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME rollsafe)
set(CPACK_PACKAGE_VENDOR rollsafe)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_CONTACT "${RS_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES OFF)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The extended description; the summary line is CPACK_PACKAGE_DESCRIPTION_
# SUMMARY.
set(CPACK_PACKAGE_DESCRIPTION "rollsafe finds and fixes stored protobuf \
records (PostgreSQL and SQLite tables and queues, dump files, Kafka topics) \
that the code a feature-flag rollback returns to cannot read, and compares \
schema versions in the rollback direction. The package holds the rollsafe \
tool with its man pages and bash completion, and librollsafe, the \
versioned codec a service links: headers, a CMake package with \
rollsafe_add_record_type(), a pkg-config file.")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The .so is this package's own: dpkg-shlibdeps must not look for it in
# another.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS
    "protobuf-compiler, protobuf-c-compiler, libprotobuf-c-dev, pkg-config")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "cmake")

include(CPack)
