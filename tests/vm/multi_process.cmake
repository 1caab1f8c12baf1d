# The client of tests/vm/multi-process-usb.sh (several processes sharing the ccid-gadget reader
# in the test VM): C, <winscard.h> only, built against pcsc-lite's headers like
# tests/conformance and run on our drop-in libpcsclite.so.1 (LD_LIBRARY_PATH).
pkg_check_modules(PCSCLITE_MP IMPORTED_TARGET libpcsclite)
if(PCSCLITE_MP_FOUND)
  add_executable(multi_process_client ${CMAKE_CURRENT_LIST_DIR}/multi_process_client.c)
  set_target_properties(multi_process_client PROPERTIES C_STANDARD 11 C_EXTENSIONS OFF)
  target_compile_definitions(multi_process_client PRIVATE _POSIX_C_SOURCE=200809L)
  target_compile_options(multi_process_client PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Werror)
  target_link_libraries(multi_process_client PRIVATE PkgConfig::PCSCLITE_MP)
  if(TARGET ccidkit_pcsclite)
    add_dependencies(multi_process_client ccidkit_pcsclite)
  endif()
endif()
