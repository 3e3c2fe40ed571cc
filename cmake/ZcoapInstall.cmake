# Install rules: headers under include/zcoap/, libraries, the CMake package (zcoapConfig.cmake,
# version file, zcoapTargets.cmake with zcoap::zcoap and zcoap::uv) and pkg-config files.
include(CMakePackageConfigHelpers)

set(ZCOAP_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/zcoap")
set(ZCOAP_PKGCONFIG_DIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig")

# Core headers; uv.h belongs to the adapter and is installed only with it.
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/zcoap/"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/zcoap"
        FILES_MATCHING PATTERN "*.h" PATTERN "uv.h" EXCLUDE)

set(zcoap_installed_targets zcoap)
if(TARGET zcoap_uv)
    list(APPEND zcoap_installed_targets zcoap_uv)
    install(FILES "${PROJECT_SOURCE_DIR}/include/zcoap/uv.h"
            DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/zcoap")
endif()

install(TARGETS ${zcoap_installed_targets}
        EXPORT zcoapTargets
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}"
        INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(EXPORT zcoapTargets
        NAMESPACE zcoap::
        DESTINATION "${ZCOAP_CMAKE_DIR}")

# The config re-finds libuv only when the adapter was installed (ZCOAP_HAS_UV).
if(TARGET zcoap_uv)
    set(ZCOAP_HAS_UV ON)
else()
    set(ZCOAP_HAS_UV OFF)
endif()
configure_package_config_file(
    "${PROJECT_SOURCE_DIR}/cmake/zcoapConfig.cmake.in"
    "${PROJECT_BINARY_DIR}/zcoapConfig.cmake"
    INSTALL_DESTINATION "${ZCOAP_CMAKE_DIR}")
# 0.x: minor versions may break the API.
write_basic_package_version_file(
    "${PROJECT_BINARY_DIR}/zcoapConfigVersion.cmake"
    COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/zcoapConfig.cmake"
              "${PROJECT_BINARY_DIR}/zcoapConfigVersion.cmake"
        DESTINATION "${ZCOAP_CMAKE_DIR}")

# pkg-config files, relocatable: the prefix is found from the .pc file's own location, so the
# tree works wherever `cmake --install --prefix` put it.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
    set(ZCOAP_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
    set(ZCOAP_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
    # lib/pkgconfig -> ../.., lib/x86_64-linux-gnu/pkgconfig -> ../../..
    file(RELATIVE_PATH zcoap_pc_up "/root/${ZCOAP_PKGCONFIG_DIR}" "/root")
    string(REGEX REPLACE "/$" "" zcoap_pc_up "${zcoap_pc_up}")
    set(ZCOAP_PC_PREFIX "\${pcfiledir}/${zcoap_pc_up}")
    set(ZCOAP_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
    set(ZCOAP_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
    set(ZCOAP_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()

configure_file("${PROJECT_SOURCE_DIR}/cmake/zcoap.pc.in" "${PROJECT_BINARY_DIR}/zcoap.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/zcoap.pc" DESTINATION "${ZCOAP_PKGCONFIG_DIR}")
if(TARGET zcoap_uv)
    configure_file("${PROJECT_SOURCE_DIR}/cmake/zcoap-uv.pc.in" "${PROJECT_BINARY_DIR}/zcoap-uv.pc"
                   @ONLY)
    install(FILES "${PROJECT_BINARY_DIR}/zcoap-uv.pc" DESTINATION "${ZCOAP_PKGCONFIG_DIR}")
endif()
