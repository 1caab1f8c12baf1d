# Installs the "tools" component of BUILD into the scratch PREFIX and fails unless ccidctl and
# ccid-simd are in PREFIX/BINDIR, run from there (no reference back into the build tree is
# needed), and the udev rules are in PREFIX/RULES_DIR.
# Run with -DBUILD=... -DPREFIX=... -DBINDIR=bin -DRULES_DIR=lib/udev/rules.d (cmake/tools.cmake).
foreach(var BUILD PREFIX BINDIR RULES_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_install.cmake needs -D${var}=...")
  endif()
endforeach()

# A stale tree from an earlier run must not make a missing file look installed.
file(REMOVE_RECURSE ${PREFIX})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD} --prefix ${PREFIX} --component tools
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install --component tools failed (${rc}):\n${out}${err}")
endif()

if(IS_ABSOLUTE ${RULES_DIR})
  message(STATUS "udev rules go to ${RULES_DIR} (absolute): not checked here")
elseif(NOT EXISTS ${PREFIX}/${RULES_DIR}/70-ccidkit.rules)
  message(FATAL_ERROR "the udev rules are not installed in ${PREFIX}/${RULES_DIR}")
endif()

# Each tool runs from the prefix and prints its usage.
foreach(tool ccidctl ccid-simd)
  set(path ${PREFIX}/${BINDIR}/${tool})
  if(NOT EXISTS ${path} OR IS_DIRECTORY ${path})
    message(FATAL_ERROR "${tool} is not installed in ${PREFIX}/${BINDIR}")
  endif()
  execute_process(COMMAND ${path} --help RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc STREQUAL "0" OR NOT out MATCHES "[Uu]sage:[ \n]*${tool} ")
    message(FATAL_ERROR "installed ${tool} --help failed (status ${rc}):\n${out}${err}")
  endif()
endforeach()
file(REMOVE_RECURSE ${PREFIX})
message(STATUS "ccidctl, ccid-simd and the udev rules install into ${PREFIX} and run from there")
