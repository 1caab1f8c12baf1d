# The SCard API: public headers, the shared libraries built from the static ccidkit_api,
# install rules, pkg-config and CMake package files, and the API tests that are not plain
# gtest suites. Included from the top-level CMakeLists.txt after add_subdirectory(src).

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Applications and the core include <PCSC/winscard.h>; pcsc-lite's own pkg-config puts the
# PCSC directory itself on the path (#include <winscard.h>), so both spellings work.
target_include_directories(ccidkit_api PUBLIC
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include/PCSC>)
set_target_properties(ccidkit_api PROPERTIES CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)

# --- Shared libraries -------------------------------------------------------------------
# Both libraries carry the whole static ccidkit_api; a version script exports the pcsc-lite
# ABI plus the ccidkit_* extensions (include/PCSC/ccidkit_ext.h), nothing else (the C++ internals,
# fmt, spdlog... stay local).
set(CCIDKIT_EXPORT_MAP ${CMAKE_CURRENT_BINARY_DIR}/ccidkit_exports.map)
file(WRITE ${CCIDKIT_EXPORT_MAP} "{\n  global:\n    SCard*;\n    pcsc_stringify_error;\n    g_rgSCardT0Pci;\n    g_rgSCardT1Pci;\n    g_rgSCardRawPci;\n    ccidkit_SCardAddReaderFromFd;\n    ccidkit_SCardRemoveReaderFromFd;\n  local:\n    *;\n};\n")
set(CCIDKIT_SO_STUB ${CMAKE_CURRENT_BINARY_DIR}/ccidkit_so_stub.c)
file(WRITE ${CCIDKIT_SO_STUB} "/* The shared libraries take all their code from the static library ccidkit_api. */\n")

function(ccidkit_shared_library target output_name version soversion)
  add_library(${target} SHARED ${CCIDKIT_SO_STUB})
  target_link_libraries(${target} PRIVATE "$<LINK_LIBRARY:WHOLE_ARCHIVE,ccidkit_api>")
  target_include_directories(${target} INTERFACE
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include/PCSC>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/ccidkit>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/ccidkit/PCSC>)
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME ${output_name}
    VERSION ${version}
    SOVERSION ${soversion}
    LINKER_LANGUAGE CXX
    C_VISIBILITY_PRESET hidden
    LINK_DEPENDS ${CCIDKIT_EXPORT_MAP})
  target_link_options(${target} PRIVATE "LINKER:--version-script=${CCIDKIT_EXPORT_MAP}")
  if(NOT CCIDKIT_SANITIZE AND NOT CCIDKIT_TSAN)
    # The sanitizer runtimes resolve their symbols from the executable.
    target_link_options(${target} PRIVATE "LINKER:--no-undefined")
  endif()
endfunction()

# libccidkit.so: our own name, for programs linking ccidkit on purpose.
ccidkit_shared_library(ccidkit_shared ccidkit ${PROJECT_VERSION} ${PROJECT_VERSION_MAJOR})
add_library(ccidkit::ccidkit ALIAS ccidkit_shared)
# libpcsclite.so.1: drop-in replacement for pcsc-lite's client library (same SONAME), e.g.
# LD_LIBRARY_PATH=<dir> or pcsc-lite's LIBPCSCLITE_DELEGATE=<path>.
ccidkit_shared_library(ccidkit_pcsclite pcsclite 1.0.0 1)

# --- Install ------------------------------------------------------------------------------
# Headers go under include/ccidkit so that they never shadow a system pcsc-lite; the drop-in
# library goes to its own directory for the same reason.
install(FILES
  ${PROJECT_SOURCE_DIR}/include/PCSC/winscard.h
  ${PROJECT_SOURCE_DIR}/include/PCSC/pcsclite.h
  ${PROJECT_SOURCE_DIR}/include/PCSC/wintypes.h
  ${PROJECT_SOURCE_DIR}/include/PCSC/reader.h
  ${PROJECT_SOURCE_DIR}/include/PCSC/ccidkit_ext.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ccidkit/PCSC)
install(TARGETS ccidkit_shared EXPORT ccidkitTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS ccidkit_pcsclite
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/ccidkit)
install(EXPORT ccidkitTargets NAMESPACE ccidkit:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ccidkit)

set(CCIDKIT_CONFIG_IN ${CMAKE_CURRENT_BINARY_DIR}/ccidkitConfig.cmake.in)
file(WRITE ${CCIDKIT_CONFIG_IN} "@PACKAGE_INIT@\ninclude(\"\${CMAKE_CURRENT_LIST_DIR}/ccidkitTargets.cmake\")\n# The exported target is ccidkit::ccidkit_shared; offer the short name too.\nif(NOT TARGET ccidkit::ccidkit)\n  add_library(ccidkit::ccidkit INTERFACE IMPORTED)\n  set_target_properties(ccidkit::ccidkit PROPERTIES INTERFACE_LINK_LIBRARIES ccidkit::ccidkit_shared)\nendif()\ncheck_required_components(ccidkit)\n")
configure_package_config_file(${CCIDKIT_CONFIG_IN} ${CMAKE_CURRENT_BINARY_DIR}/ccidkitConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ccidkit)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/ccidkitConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/ccidkitConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/ccidkitConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ccidkit)

# pkg-config: the same Cflags shape as pcsc-lite's libpcsclite.pc (#include <winscard.h>).
set(CCIDKIT_PC ${CMAKE_CURRENT_BINARY_DIR}/ccidkit.pc)
file(WRITE ${CCIDKIT_PC}.in
"prefix=@CMAKE_INSTALL_PREFIX@
libdir=\${prefix}/@CMAKE_INSTALL_LIBDIR@
includedir=\${prefix}/@CMAKE_INSTALL_INCLUDEDIR@

Name: ccidkit
Description: In-process PC/SC (SCard) API with a USB CCID driver, no daemon
Version: @PROJECT_VERSION@
Libs: -L\${libdir} -lccidkit
Cflags: -I\${includedir}/ccidkit -I\${includedir}/ccidkit/PCSC
")
configure_file(${CCIDKIT_PC}.in ${CCIDKIT_PC} @ONLY)
install(FILES ${CCIDKIT_PC} DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# --- Tests that the generic tests/CMakeLists.txt does not build ------------------------------
# Deferred to the end of the top-level directory, when the t_api_* targets exist.
function(ccidkit_api_extra_tests)
  if(NOT CCIDKIT_BUILD_TESTS)
    return()
  endif()
  set(dir ${PROJECT_SOURCE_DIR}/tests/api)
  # ccidkit_warnings carries C++-only flags; the C programs get the common ones.
  set(c_warnings -Wall -Wextra -Wpedantic -Wshadow -Wcast-align -Werror
      $<$<COMPILE_LANGUAGE:CXX>:-Wnon-virtual-dtor -Woverloaded-virtual>)
  # The C program, compiled as C99, against the fake reader (through a small C++ shim) ...
  add_executable(t_api_c_abi ${dir}/c_abi_test.c ${dir}/c_abi_fake.cpp)
  set_target_properties(t_api_c_abi PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
  target_compile_definitions(t_api_c_abi PRIVATE CCIDKIT_C_TEST_WITH_FAKE=1)
  target_include_directories(t_api_c_abi PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  target_compile_options(t_api_c_abi PRIVATE ${c_warnings})
  target_link_libraries(t_api_c_abi PRIVATE ccidkit_api)
  add_test(NAME api.c_abi COMMAND t_api_c_abi)
  # ... and against the shared libraries only, as an application built for pcsc-lite would.
  foreach(lib ccidkit_shared ccidkit_pcsclite)
    add_executable(t_api_c_abi_${lib} ${dir}/c_abi_test.c)
    set_target_properties(t_api_c_abi_${lib} PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
    target_compile_options(t_api_c_abi_${lib} PRIVATE ${c_warnings})
    target_link_libraries(t_api_c_abi_${lib} PRIVATE ${lib})
    add_test(NAME api.c_abi_${lib} COMMAND t_api_c_abi_${lib})
  endforeach()
  # Only the pcsc-lite symbols may be exported.
  add_test(NAME api.exported_symbols
    COMMAND ${CMAKE_COMMAND} -DLIB=$<TARGET_FILE:ccidkit_pcsclite> -DNM=${CMAKE_NM}
            -P ${PROJECT_SOURCE_DIR}/tests/api/check_exports.cmake)
  if(TARGET t_api_shared_library_test)
    target_compile_definitions(t_api_shared_library_test PRIVATE CCIDKIT_PCSCLITE_SO="$<TARGET_FILE:ccidkit_pcsclite>")
    target_link_libraries(t_api_shared_library_test PRIVATE ${CMAKE_DL_LIBS})
    add_dependencies(t_api_shared_library_test ccidkit_pcsclite)
  endif()
  # Debian's PC/SC programs (pcsc_scan, pyscard, opensc-tool) run on the built libpcsclite.so.1.
  if(TARGET t_api_pcsc_programs_test)
    target_compile_definitions(t_api_pcsc_programs_test PRIVATE
      CCIDKIT_PCSCLITE_SO="$<TARGET_FILE_DIR:ccidkit_pcsclite>/libpcsclite.so.1"
      $<$<OR:$<BOOL:${CCIDKIT_SANITIZE}>,$<BOOL:${CCIDKIT_TSAN}>>:CCIDKIT_SANITIZED=1>)
    add_dependencies(t_api_pcsc_programs_test ccidkit_pcsclite)
  endif()
endfunction()
cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR} CALL ccidkit_api_extra_tests)
