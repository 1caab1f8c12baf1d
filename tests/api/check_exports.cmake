# Fails unless LIB exports exactly the pcsc-lite client API plus ccidkit's extensions (run with -DLIB=... -DNM=...).
set(expected
  SCardEstablishContext SCardReleaseContext SCardIsValidContext SCardListReaders
  SCardListReaderGroups SCardFreeMemory SCardCancel SCardGetStatusChange SCardConnect
  SCardReconnect SCardDisconnect SCardBeginTransaction SCardEndTransaction SCardStatus
  SCardTransmit SCardControl SCardGetAttrib SCardSetAttrib pcsc_stringify_error
  g_rgSCardT0Pci g_rgSCardT1Pci g_rgSCardRawPci
  # ccidkit extensions (include/PCSC/ccidkit_ext.h); the prefix keeps them apart from pcsc-lite's.
  ccidkit_SCardAddReaderFromFd ccidkit_SCardRemoveReaderFromFd)
execute_process(COMMAND ${NM} -D --defined-only ${LIB} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NM} failed on ${LIB}")
endif()
string(REPLACE "\n" ";" lines "${out}")
set(found)
set(unexpected)
foreach(line IN LISTS lines)
  if(line MATCHES "^[0-9a-fA-F]+ [A-Za-z] ([^ ]+)$")
    set(name ${CMAKE_MATCH_1})
    list(FIND expected ${name} idx)
    if(idx EQUAL -1)
      list(APPEND unexpected ${name})
    else()
      list(APPEND found ${name})
    endif()
  endif()
endforeach()
foreach(name IN LISTS expected)
  list(FIND found ${name} idx)
  if(idx EQUAL -1)
    message(FATAL_ERROR "${LIB} does not export ${name}")
  endif()
endforeach()
if(unexpected)
  message(FATAL_ERROR "${LIB} exports more than the API: ${unexpected}")
endif()
list(LENGTH found n)
message(STATUS "1 passed, 0 failed: ${n} API symbols exported, nothing else")
