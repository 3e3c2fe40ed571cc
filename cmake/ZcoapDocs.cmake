# The HTML reference of the public headers with Doxygen (docs/Doxyfile.in):
#     cmake --build build/<preset> --target docs   ->  build/<preset>/docs/html/index.html
# Without Doxygen there is no docs target (and tests/docs registers no test).
find_package(Doxygen QUIET)
if(NOT DOXYGEN_FOUND)
    message(STATUS "Doxygen not found: no docs target")
    return()
endif()

set(ZCOAP_DOXYFILE_IN "${PROJECT_SOURCE_DIR}/docs/Doxyfile.in")
set(ZCOAP_DOCS_OUTPUT "${PROJECT_BINARY_DIR}/docs")
configure_file("${ZCOAP_DOXYFILE_IN}" "${ZCOAP_DOCS_OUTPUT}/Doxyfile" @ONLY)
add_custom_target(docs
    COMMAND Doxygen::doxygen "${ZCOAP_DOCS_OUTPUT}/Doxyfile"
    WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
    COMMENT "Doxygen: HTML reference in ${ZCOAP_DOCS_OUTPUT}/html"
    VERBATIM)
