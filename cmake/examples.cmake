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
