# Read by cpack before it packages: the programs carry the paths of CMAKE_INSTALL_PREFIX (the
# models, the unit's ExecStart), so a package is made only from a build configured for /usr.
if(NOT CPACK_DRIFT_INSTALL_PREFIX STREQUAL "/usr")
  message(FATAL_ERROR "drift package: this build is configured with CMAKE_INSTALL_PREFIX="
                      "${CPACK_DRIFT_INSTALL_PREFIX}; configure it with -DCMAKE_INSTALL_PREFIX=/usr "
                      "(tools/package.sh does)")
endif()
