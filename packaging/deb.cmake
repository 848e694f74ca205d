# The Debian package (CPack DEB): `cmake --build BUILD --target package`, or tools/package.sh,
# which configures a build for it. Everything the install rules put under CMAKE_INSTALL_PREFIX
# (which must be /usr: the programs have their paths compiled in) and the absolute paths (/etc,
# the systemd unit directory) goes into one package, drift_VERSION_ARCH.deb; the media layer's
# demo stays out. Depends: dpkg-shlibdeps on the programs, plus what no library names: the
# GStreamer plugins the media layer's pipelines load, and systemd-sysusers/-tmpfiles for
# postinst. Maintainer scripts, conffiles, changelog and copyright are in packaging/debian/.
set(_deb ${CMAKE_CURRENT_LIST_DIR}/debian)

# The changelog's newest entry is this version, or lintian and apt would tell two stories.
file(STRINGS ${_deb}/changelog _top LIMIT_COUNT 1)
if(NOT _top MATCHES "^drift \\(${PROJECT_VERSION}\\) ")
  message(FATAL_ERROR "packaging/debian/changelog: its first entry is '${_top}', but the project "
                      "version is ${PROJECT_VERSION}; add an entry for it")
endif()

set(_docdir ${CMAKE_INSTALL_DATADIR}/doc/drift)
add_custom_command(OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/changelog.gz
  COMMAND gzip -9nc ${_deb}/changelog > ${CMAKE_CURRENT_BINARY_DIR}/changelog.gz
  DEPENDS ${_deb}/changelog)
add_custom_target(deb-changelog ALL DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/changelog.gz)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/changelog.gz ${_deb}/copyright DESTINATION ${_docdir}
        COMPONENT deb)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME drift)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "drift maintainers <maintainers@users.noreply.r-seed-bb943304.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "diffusion video and audio generated on the CPU, streamed live")
set(CPACK_PACKAGE_DESCRIPTION
"driftd generates video and sound with small diffusion models on the CPU
(oneDNN kernels, temporal and step-level caches), encodes them with
libavcodec and serves them live over RTSP; it also renders clips to files
as scheduled, persistent jobs. driftctl steers it over D-Bus (org.drift1):
prompts, settings, streams and render jobs.
.
The package ships the default video and audio models, the systemd service
(installed, not enabled), its D-Bus policy, drift-gen (the engine alone:
frames to PNG, sound to WAV) and drift-bench.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_SET_DESTDIR ON) # absolute destinations (/etc, the unit directory) land in the package
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION video)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "gstreamer1.0-plugins-base, gstreamer1.0-plugins-good, gstreamer1.0-plugins-bad, gstreamer1.0-nice, systemd | systemd-standalone-sysusers, systemd | systemd-standalone-tmpfiles")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "dbus")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "ffmpeg, gstreamer1.0-rtsp")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${_deb}/postinst ${_deb}/prerm ${_deb}/postrm ${_deb}/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Not the media layer's demo (drift-rtsp-demo).
set(CPACK_COMPONENTS_ALL daemon daemon-data man completion deb Unspecified)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/package)
set(CPACK_DRIFT_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_CURRENT_LIST_DIR}/cpack-check.cmake)
include(CPack)
