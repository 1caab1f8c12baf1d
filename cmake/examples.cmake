# The README's two examples, built against the drop-in libpcsclite.so.1 (C) and the C++ API,
# and run on a virtual reader so the README never shows code that does not work.
if(TARGET ccidkit_pcsclite)
  add_executable(example_hello_c ${PROJECT_SOURCE_DIR}/examples/hello_c.c)
  target_link_libraries(example_hello_c PRIVATE ccidkit_pcsclite)
  add_executable(example_hello_cpp ${PROJECT_SOURCE_DIR}/examples/hello_cpp.cpp)
  target_link_libraries(example_hello_cpp PRIVATE ccidkit_api ccidkit_warnings)
  if(CCIDKIT_BUILD_TESTS)
    foreach(example example_hello_c example_hello_cpp)
      add_test(NAME examples.${example} COMMAND ${example})
      set_tests_properties(examples.${example} PROPERTIES LABELS examples TIMEOUT 60
        ENVIRONMENT "CCID_VIRTUAL_READERS=1;CCIDKIT_USB=0;CCIDKIT_LOCK_DIR=${CMAKE_CURRENT_BINARY_DIR}/example-locks"
        PASS_REGULAR_EXPRESSION "SW 9000")
    endforeach()
  endif()
endif()

# The same C program compiled against Debian's own pcsc-lite headers (libpcsclite-dev) and
# run on our libpcsclite.so.1: proves header and ABI compatibility, not just our copy of them.
pkg_check_modules(DEBIAN_PCSCLITE QUIET libpcsclite)
if(TARGET ccidkit_pcsclite AND CCIDKIT_BUILD_TESTS AND DEBIAN_PCSCLITE_FOUND)
  add_executable(example_hello_c_debian_headers ${PROJECT_SOURCE_DIR}/examples/hello_c.c)
  # Debian's cflags (-I/usr/include/PCSC), never its library.
  target_compile_options(example_hello_c_debian_headers PRIVATE ${DEBIAN_PCSCLITE_CFLAGS})
  # Only the library file: none of our include directories may leak into this compile.
  target_link_libraries(example_hello_c_debian_headers PRIVATE $<TARGET_FILE:ccidkit_pcsclite>)
  add_dependencies(example_hello_c_debian_headers ccidkit_pcsclite)
  add_test(NAME examples.hello_c_debian_headers COMMAND example_hello_c_debian_headers)
  set_tests_properties(examples.hello_c_debian_headers PROPERTIES LABELS examples TIMEOUT 60
    ENVIRONMENT "LD_LIBRARY_PATH=$<TARGET_FILE_DIR:ccidkit_pcsclite>;CCID_VIRTUAL_READERS=1;CCIDKIT_USB=0;CCIDKIT_LOCK_DIR=${CMAKE_CURRENT_BINARY_DIR}/example-locks"
    PASS_REGULAR_EXPRESSION "SW 9000")
endif()
