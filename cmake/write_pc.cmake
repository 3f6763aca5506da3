# Run at install time by the install(CODE) in install.cmake: writes
# rollsafe.pc for the prefix being installed to. CMAKE_INSTALL_PREFIX is the
# one given to `cmake --install --prefix` (without DESTDIR) by now.
#
# In: RS_PC_TEMPLATE, RS_PC_FILE, RS_PC_VERSION, RS_PC_DESCRIPTION,
#     RS_PC_LIBDIR, RS_PC_INCLUDEDIR, RS_PC_CMAKEDIR (relative to the
#     prefix, or absolute).
set(prefix "${CMAKE_INSTALL_PREFIX}")
foreach(dir LIBDIR INCLUDEDIR CMAKEDIR)
  if(IS_ABSOLUTE "${RS_PC_${dir}}")
    set(RS_PC_${dir}_VALUE "${RS_PC_${dir}}")
  else()
    # Relative to the .pc file's own prefix variable.
    set(RS_PC_${dir}_VALUE "\${prefix}/${RS_PC_${dir}}")
  endif()
endforeach()
configure_file("${RS_PC_TEMPLATE}" "${RS_PC_FILE}" @ONLY)
